"""Speed: decode is memory-bound or host-bound, vision encoding and prefill are compute-bound.

    weights step    = weights read per token / (eta_mem x bandwidth)
    KV step         = KV cache filled so far x passes / (eta_mem x bandwidth)
    decode tokens/s = 1 / (max(host step, weights step) + KV step)   transformers (the host runs ahead
                                                                      of the weights, not of the cache)
                    = 1 / (weights step + KV step + t_step)           llama.cpp, Ollama, vLLM (1 pass)
    vision seconds  = 2 x vision params x encoder patches / (eta_c x TFLOPS)
    prefill seconds = 2 x active text params x prompt tokens / (eta_c x TFLOPS)
    seconds/image   = vision + prefill + max_new_tokens / tokens/s

Memory is sized for the full window; speed for what one request fills (SPEED_PROMPT_TOKENS).
transformers' generate() is bound by its host: Python and kernel launches per layer, so on an
A100 Qwen2-VL-2B (35 tok/s) is no faster than the 7B (39 tok/s). The host cost per layer and
per quant kernel, and the cost of a filled KV cache, are calibrated on the non-holdout rows of
benchmarks/measured.yaml (QwenLM/Qwen2-VL's 7B and 72B tables); `benchmarks/validate_estimates.py`
prints the errors on them and on the held-out rows.
"""


from typing import NamedTuple

from vlmselect.catalog import ModelSpec
from vlmselect.memory import MemoryEstimate, Workload
from vlmselect.quant import Quant
from vlmselect.units import GIB

ETA_MEM = 0.8  # share of peak bandwidth a decode step reaches [calibrated on the seed's 3090 rows]
ETA_COMPUTE = 0.35  # share of dense FP16 tensor TFLOPS reached by prefill / ViT matmuls [I]
# Fixed cost per decode step (kernel launches, sampling) of the C++/CUDA-graph runners [I].
T_STEP_S = {"ollama": 0.0015, "llama.cpp": 0.0015, "vllm": 0.001}
# transformers: host time per decoder layer per step, by weight format. Calibrated on the fitted
# QwenLM/Qwen2-VL rows at input length 1 (ms per token / layers): 7B BF16 0.915; GPTQ-Int4 7B 0.835,
# 72B 1.13 -> 0.98; AWQ 7B 1.11, 72B 1.04 -> 1.08. bnb: no published VLM row; LLM.int8's outlier
# decomposition and NF4's dequantize-per-call make both slower than bf16 [I].
HOST_S_PER_LAYER = {"fp": 0.000915, "gptq": 0.00098, "awq": 0.00108, "fp8": 0.000915,
                    "bnb": 0.000915 * 1.4, "bnb-int8": 0.000915 * 2.5}
# Ollama's Go engine (the runner of its vision models since 0.6) builds each step's graph on the
# host before the GPU runs it: a per-layer cost added to the step. Calibrated on ollama#9701 (RTX
# 5090, 0.6.0): gemma3:12b 78 tok/s and 27b 50 tok/s leave 7.7 and 8.7 ms over their bandwidth
# time across 48 and 62 layers -> 0.149 ms per layer (gemma3:4b held out). Later versions: not
# measured, assumed unchanged [I].
OLLAMA_ENGINE_S_PER_LAYER = 0.000149
# transformers: time per step per byte of filled KV cache, as a multiple of one read at eta x
# bandwidth. Calibrated on Qwen2-VL-7B BF16 at 30720 input (19.53 tok/s: 49.3 ms per step after
# ~4 s of prefill, 25.6 ms of it host time at input 1): 21. The cache is concatenated and copied
# every step (DynamicCache) and attended; the factor lumps all of it.
TRANSFORMERS_KV_PASSES = 21.0
# Quantized matmuls dequantize on the fly: they read slower than their bytes [I].
DEQUANT_PENALTY = {"bnb": 1.6, "awq": 1.1, "gptq": 1.15}
# Expert matmuls (ggml mul_mat_id, fused MoE) reach a lower share of bandwidth than dense ones [I]:
# Qwen3-VL-30B-A3B Q4 on a 3090 lands near 150 tok/s, under the 170-200 its text twin reaches on
# faster cards (issue 11).
MOE_EFFICIENCY = 0.55
TP_EFFICIENCY = 0.75  # tensor-parallel scaling per extra GPU (all-reduce cost) [I]
DEFAULT_RAM_BANDWIDTH_GBPS = 50.0  # dual-channel DDR4-3200: 2 x 8 B x 3200 MT/s = 51.2 GB/s
CPU_FLOPS_PER_CORE = 2.5e9 * 32 * 0.5  # 2.5 GHz x AVX2 FMA 32 FLOP/cycle x 50% [I]
# Memory is sized for the whole window (--context text + images + answer), as runners allocate it
# up front. Speed is for what one request fills: its images, an instruction of at most this many
# text tokens, and on average half of the answer.
SPEED_PROMPT_TOKENS = 256


class SpeedEstimate(NamedTuple):
    tokens_per_s: float
    seconds_per_image: float
    vision_s: float
    prefill_s: float
    decode_s: float
    basis: str


class Placement(NamedTuple):
    """Where the weights live: on `gpus` GPUs (fraction `gpu_share`), the rest in system RAM."""

    mode: str  # gpu | multi-gpu | offload | cpu
    gpus: int = 1
    gpu_share: float = 1.0  # fraction of the text weights on GPUs
    tensor_parallel: bool = False


def filled_tokens(mem: MemoryEstimate, w: Workload, prompt: int | None = None) -> int:
    """Tokens in the KV cache while a single request decodes (on average). `prompt`: text tokens
    the request really carries (default: an instruction of at most SPEED_PROMPT_TOKENS)."""
    text = min(w.context, SPEED_PROMPT_TOKENS) if prompt is None else prompt
    return mem.image_tokens * w.images + text + w.max_new_tokens // 2


def _host_step_s(m: ModelSpec, q: Quant, runner: str) -> float:
    """Host (Python) time of one transformers decode step; 0 for the C++ runners."""
    if runner != "transformers":
        return 0.0
    key = "bnb-int8" if q.id == "int8" else q.fmt
    return HOST_S_PER_LAYER.get(key, HOST_S_PER_LAYER["fp"]) * m.arch.layers


def kv_filled_bytes(mem: MemoryEstimate, w: Workload, prompt: int | None = None) -> float:
    return mem.kv_cache_gib * GIB * min(1.0, filled_tokens(mem, w, prompt) / max(mem.context_tokens, 1))


def active_text_b(m: ModelSpec) -> float:
    """Parameters (billions) of the language model that every token passes through."""
    return m.params_active_b or (m.params_text_b or m.params_total_b - (m.params_vision_b or 0))


def weights_per_token(m: ModelSpec, mem: MemoryEstimate) -> float:
    """Weights read per decoded token (active experts only for MoE)."""
    text = mem.weights_text_gib * GIB
    active = m.params_active_b
    if active is not None and m.is_moe:
        text *= active / max(m.params_total_b - (m.params_vision_b or 0), active)
    return text


def estimate_speed(
    m: ModelSpec, q: Quant, mem: MemoryEstimate, w: Workload, *,
    bandwidth_gbps: float | None, tflops: float | None, placement: Placement | None = None,
    ram_bandwidth_gbps: float = DEFAULT_RAM_BANDWIDTH_GBPS, cpu_cores: int = 8, prompt_tokens: int | None = None,
    explain: bool = True,
) -> SpeedEstimate:
    """`prompt_tokens`: text tokens the request carries (default: min(--context, 256)). Without
    `explain` the same numbers and an empty basis."""
    placement = placement or Placement("gpu")
    runner = mem.runner
    weights = weights_per_token(m, mem) * DEQUANT_PENALTY.get(q.fmt, 1.0)
    if m.is_moe:
        weights /= MOE_EFFICIENCY
    # generate() re-copies and attends the whole cache each step: a multiple of its bytes.
    kv = kv_filled_bytes(mem, w, prompt_tokens) * (TRANSFORMERS_KV_PASSES if runner == "transformers" else 1.0)
    per_token = weights + kv
    host = _host_step_s(m, q, runner)
    t_step = T_STEP_S.get(runner, 0.0) + (OLLAMA_ENGINE_S_PER_LAYER * m.arch.layers if runner == "ollama" else 0.0)

    if placement.mode == "cpu" or not bandwidth_gbps:
        ram_bw = ETA_MEM * ram_bandwidth_gbps * 1e9
        decode_t = max(weights / ram_bw, host) + kv / ram_bw + t_step
        flops = cpu_cores * CPU_FLOPS_PER_CORE
        basis = "" if not explain else f"CPU: {ram_bandwidth_gbps:g} GB/s RAM (assumed), {flops / 1e12:.2f} TFLOPS ({cpu_cores} cores)"
    else:
        bw = bandwidth_gbps * 1e9 * ETA_MEM
        if placement.tensor_parallel and placement.gpus > 1:
            bw *= 1 + (placement.gpus - 1) * TP_EFFICIENCY
        ram_bw = ETA_MEM * ram_bandwidth_gbps * 1e9
        w_part = weights * placement.gpu_share / bw + weights * (1 - placement.gpu_share) / ram_bw
        kv_part = kv * placement.gpu_share / bw + kv * (1 - placement.gpu_share) / ram_bw
        decode_t = max(w_part, host) + kv_part + t_step
        flops = (tflops or 20.0) * 1e12 * ETA_COMPUTE * (placement.gpus if placement.tensor_parallel else 1)
        basis = "" if not explain else (f"decode: {per_token / 1e9:.2f} GB read per token / ({ETA_MEM} x {bandwidth_gbps:g} GB/s"
                 + (f" x TP{placement.gpus}" if placement.tensor_parallel else "")
                 + (f"; {1 - placement.gpu_share:.0%} of layers from RAM at {ram_bandwidth_gbps:g} GB/s"
                    if placement.gpu_share < 1 else "")
                 + (f") vs host {host * 1000:.1f} ms/step ({m.arch.layers} layers)" if host else
                    f") + {t_step * 1000:g} ms/step")
                 + f"; prefill at {ETA_COMPUTE} x {tflops or 20.0:g} TFLOPS")
    tokens_per_s = 1.0 / decode_t

    active_b = active_text_b(m)
    vision_s = 2 * (m.params_vision_b or 0.0) * 1e9 * mem.encoder_patches * w.images / flops
    prompt = (min(w.context, SPEED_PROMPT_TOKENS) if prompt_tokens is None else prompt_tokens) + mem.image_tokens * w.images
    prefill_s = 2 * active_b * 1e9 * prompt / flops
    decode_s = w.max_new_tokens / tokens_per_s
    return SpeedEstimate(
        tokens_per_s=tokens_per_s, seconds_per_image=(vision_s + prefill_s + decode_s) / max(w.images, 1),
        vision_s=vision_s, prefill_s=prefill_s, decode_s=decode_s, basis=basis,
    )

