"""Speed: decode is memory-bound, vision encoding and prefill are compute-bound.

    decode tokens/s = 1 / (bytes read per token / (eta_mem x bandwidth) + t_step)
    vision seconds  = 2 x vision params x encoder patches / (eta_c x TFLOPS)
    prefill seconds = 2 x active text params x prompt tokens / (eta_c x TFLOPS)
    seconds/image   = vision + prefill + max_new_tokens / tokens/s

Memory is sized for the full window; speed for what one request fills (SPEED_PROMPT_TOKENS).
eta_mem and t_step are calibrated on the seed's RTX 3090 table (transformers, FP16):
Phi-3 Vision 60-80 tok/s, LLaVA 7B 40-60, Qwen2-VL 7B 35-50. With eta_mem = 0.8 and
t_step = 4 ms the three land at ~64, ~42 and ~41 tok/s (tests/test_speed.py checks it).
"""


from typing import NamedTuple

from vlmselect.catalog import ModelSpec
from vlmselect.memory import GIB, MemoryEstimate, Workload
from vlmselect.quant import Quant

ETA_MEM = 0.8  # share of peak bandwidth a decode step reaches [calibrated on the seed's 3090 rows]
ETA_COMPUTE = 0.35  # share of dense FP16 tensor TFLOPS reached by prefill / ViT matmuls [I]
# Fixed cost per decode step (kernel launches, sampling, Python) per runner [calibrated / I].
T_STEP_S = {"transformers": 0.004, "ollama": 0.0015, "llama.cpp": 0.0015, "vllm": 0.001}
# Quantized matmuls dequantize on the fly: bnb NF4 decode is slower than its bytes suggest.
DEQUANT_PENALTY = {"bnb": 1.6, "awq": 1.1, "gptq": 1.15}
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


def filled_tokens(mem: MemoryEstimate, w: Workload) -> int:
    """Tokens in the KV cache while a single request decodes (on average)."""
    return mem.image_tokens * w.images + min(w.context, SPEED_PROMPT_TOKENS) + w.max_new_tokens // 2


def _bytes_per_token(m: ModelSpec, mem: MemoryEstimate, w: Workload) -> float:
    """Weights read per decoded token (active experts only for MoE) + the KV cache filled so far."""
    text = mem.weights_text_gib * GIB
    if m.is_moe:
        text *= m.params_active_b / max(m.params_total_b - (m.params_vision_b or 0), m.params_active_b)
    kv = mem.kv_cache_gib * GIB * min(1.0, filled_tokens(mem, w) / max(mem.context_tokens, 1))
    return text + kv


def estimate_speed(
    m: ModelSpec, q: Quant, mem: MemoryEstimate, w: Workload, *,
    bandwidth_gbps: float | None, tflops: float | None, placement: Placement | None = None,
    ram_bandwidth_gbps: float = DEFAULT_RAM_BANDWIDTH_GBPS, cpu_cores: int = 8,
) -> SpeedEstimate:
    placement = placement or Placement("gpu")
    runner = mem.runner
    per_token = _bytes_per_token(m, mem, w) * DEQUANT_PENALTY.get(q.fmt, 1.0)
    t_step = T_STEP_S.get(runner, 0.004)

    if placement.mode == "cpu" or not bandwidth_gbps:
        decode_t = per_token / (ETA_MEM * ram_bandwidth_gbps * 1e9) + t_step
        flops = cpu_cores * CPU_FLOPS_PER_CORE
        basis = f"CPU: {ram_bandwidth_gbps:g} GB/s RAM (assumed), {flops / 1e12:.2f} TFLOPS ({cpu_cores} cores)"
    else:
        bw = bandwidth_gbps * 1e9 * ETA_MEM
        if placement.tensor_parallel and placement.gpus > 1:
            bw *= 1 + (placement.gpus - 1) * TP_EFFICIENCY
        gpu_part = per_token * placement.gpu_share / bw
        ram_part = per_token * (1 - placement.gpu_share) / (ETA_MEM * ram_bandwidth_gbps * 1e9)
        decode_t = gpu_part + ram_part + t_step
        flops = (tflops or 20.0) * 1e12 * ETA_COMPUTE * (placement.gpus if placement.tensor_parallel else 1)
        basis = (f"decode: {per_token / 1e9:.2f} GB read per token / ({ETA_MEM} x {bandwidth_gbps:g} GB/s"
                 + (f" x TP{placement.gpus}" if placement.tensor_parallel else "")
                 + (f"; {1 - placement.gpu_share:.0%} of layers from RAM at {ram_bandwidth_gbps:g} GB/s"
                    if placement.gpu_share < 1 else "")
                 + f") + {t_step * 1000:g} ms/step; prefill at {ETA_COMPUTE} x {tflops or 20.0:g} TFLOPS")
    tokens_per_s = 1.0 / decode_t

    active_text_b = m.params_active_b or (m.params_text_b or m.params_total_b - (m.params_vision_b or 0))
    vision_s = 2 * (m.params_vision_b or 0.0) * 1e9 * mem.encoder_patches * w.images / flops
    prompt_tokens = min(w.context, SPEED_PROMPT_TOKENS) + mem.image_tokens * w.images
    prefill_s = 2 * active_text_b * 1e9 * prompt_tokens / flops
    decode_s = w.max_new_tokens / tokens_per_s
    return SpeedEstimate(
        tokens_per_s=tokens_per_s, seconds_per_image=(vision_s + prefill_s + decode_s) / max(w.images, 1),
        vision_s=vision_s, prefill_s=prefill_s, decode_s=decode_s, basis=basis,
    )

