"""Speeds against the seed's RTX 3090 table, and the physics behind them."""

from __future__ import annotations


from vlmselect.memory import Workload, estimate_memory
from vlmselect.quant import QUANTS
from vlmselect.speed import Placement, estimate_speed

def _speed(catalog, mid, q="fp16", runner="transformers", w=None, gpu="RTX 3090", placement=None):
    g = catalog.gpu(gpu)
    w = w or Workload()
    m = catalog.models[mid]
    mem = estimate_memory(m, QUANTS[q], runner, w)
    return estimate_speed(m, QUANTS[q], mem, w, bandwidth_gbps=g.bandwidth_gbps, tflops=g.fp16_tflops,
                          placement=placement or Placement("gpu"))


# The seed's "Performance Benchmarks (3090)" table (transformers FP16: Phi-3 Vision 60-80 tok/s,
# LLaVA 1.6 7B 40-60, Qwen2-VL 7B 35-50) is not a measurement, and Qwen's own one disagrees for
# small models: generate() is host-bound (QwenLM/Qwen2-VL README, A100: 2B 35.29 tok/s, 7B 39.02).
# The 7B row, whose bandwidth and host times are close on a 3090, stays inside the seed's range.
def test_qwen2_vl_7b_fp16_on_a_3090_inside_the_seeds_range(catalog):
    s = _speed(catalog, "qwen2-vl-7b", w=Workload(context=256, images=0, max_new_tokens=256))
    assert 35 <= s.tokens_per_s <= 50, f"{s.tokens_per_s:.1f} tok/s"


def test_transformers_small_model_is_no_faster_than_7b(catalog):
    # Measured on an A100 80GB: Qwen2-VL-2B 35.29 tok/s, 7B 39.02 (QwenLM/Qwen2-VL README): the
    # host's per-layer cost, not bandwidth, sets the pace of both (28 layers each).
    w = Workload(context=1, images=0, max_new_tokens=2048)
    small = _speed(catalog, "qwen2.5-vl-3b", "bf16", w=w, gpu="A100-SXM4-80GB")
    big = _speed(catalog, "qwen2.5-vl-7b", "bf16", w=w, gpu="A100-SXM4-80GB")
    assert small.tokens_per_s < 1.5 * big.tokens_per_s
    assert "host" in big.basis


def test_bitsandbytes_decodes_slower_than_bf16(catalog):
    w = Workload(context=256, images=0)
    bf16 = _speed(catalog, "qwen2.5-vl-7b", "bf16", w=w)
    nf4 = _speed(catalog, "qwen2.5-vl-7b", "nf4", w=w)
    int8 = _speed(catalog, "qwen2.5-vl-7b", "int8", w=w)
    assert int8.tokens_per_s < nf4.tokens_per_s < bf16.tokens_per_s


def test_decode_slows_as_the_context_fills(catalog):
    m = catalog.models["qwen2-vl-7b"]
    g = catalog.gpu("A100-SXM4-80GB")
    w = Workload(context=30720, images=0, max_new_tokens=2048)
    mem = estimate_memory(m, QUANTS["bf16"], "transformers", w)
    short = estimate_speed(m, QUANTS["bf16"], mem, w, bandwidth_gbps=g.bandwidth_gbps, tflops=g.fp16_tflops,
                           prompt_tokens=1)
    full = estimate_speed(m, QUANTS["bf16"], mem, w, bandwidth_gbps=g.bandwidth_gbps, tflops=g.fp16_tflops,
                          prompt_tokens=30720)
    # Qwen measured 39.02 -> 19.53 tok/s (prefill included) between these two prompts.
    assert 1.5 < short.tokens_per_s / full.tokens_per_s < 2.5


def test_moe_on_a_3090_is_not_faster_than_published_runs_on_faster_cards(catalog):
    # Issue 11: 242 tok/s was estimated; published runs of the text twin reach ~170-200 on faster cards.
    s = _speed(catalog, "qwen3-vl-30b-a3b", "q4_k_m", "llama.cpp", w=Workload(context=256, images=0))
    assert 60 < s.tokens_per_s < 170, f"{s.tokens_per_s:.0f} tok/s"


def test_quantized_weights_decode_faster(catalog):
    fp16 = _speed(catalog, "qwen2.5-vl-7b", "fp16", "llama.cpp")
    q4 = _speed(catalog, "qwen2.5-vl-7b", "q4_k_m", "llama.cpp")
    assert q4.tokens_per_s > 2 * fp16.tokens_per_s


def test_bandwidth_scales_speed(catalog):
    slow = _speed(catalog, "qwen2.5-vl-7b", "q4_k_m", "llama.cpp", gpu="RTX 4060 Ti 16GB")
    fast = _speed(catalog, "qwen2.5-vl-7b", "q4_k_m", "llama.cpp", gpu="RTX 4090")
    assert fast.tokens_per_s > 2 * slow.tokens_per_s


def test_offload_is_bounded_by_ram_bandwidth(catalog):
    on_gpu = _speed(catalog, "qwen2-vl-72b", "q4_k_m", "llama.cpp")
    half = _speed(catalog, "qwen2-vl-72b", "q4_k_m", "llama.cpp", placement=Placement("offload", gpu_share=0.5))
    # Half of ~42 GiB from ~50 GB/s RAM: at best ~2.5 tok/s.
    assert half.tokens_per_s < 3 < on_gpu.tokens_per_s


def test_cpu_only_is_slow_but_positive(catalog):
    m = catalog.models["smolvlm2-500m"] if "smolvlm2-500m" in catalog.models else catalog.models["qwen3-vl-2b"]
    w = Workload()
    mem = estimate_memory(m, QUANTS["q4_k_m"], "llama.cpp", w)
    s = estimate_speed(m, QUANTS["q4_k_m"], mem, w, bandwidth_gbps=None, tflops=None, placement=Placement("cpu"), cpu_cores=8)
    assert 1 < s.tokens_per_s < 200 and s.seconds_per_image > 0
