"""Speeds against the seed's RTX 3090 table, and the physics behind them."""

from __future__ import annotations

import pytest

from vlmselect.memory import Workload, estimate_memory
from vlmselect.quant import QUANTS
from vlmselect.speed import Placement, estimate_speed

# The seed's "Performance Benchmarks (3090)" rows (transformers, FP16).
SEED_3090 = [
    ("phi-3-vision", (60, 80)),
    ("llava-1.6-7b", (40, 60)),
    ("qwen2-vl-7b", (35, 50)),
]


def _speed(catalog, mid, q="fp16", runner="transformers", w=None, gpu="RTX 3090", placement=None):
    g = catalog.gpu(gpu)
    w = w or Workload()
    m = catalog.models[mid]
    mem = estimate_memory(m, QUANTS[q], runner, w)
    return estimate_speed(m, QUANTS[q], mem, w, bandwidth_gbps=g.bandwidth_gbps, tflops=g.fp16_tflops,
                          placement=placement or Placement("gpu"))


@pytest.mark.parametrize("mid,rng", SEED_3090)
def test_decode_speed_inside_the_seeds_3090_range(catalog, mid, rng):
    s = _speed(catalog, mid)
    assert rng[0] <= s.tokens_per_s <= rng[1], f"{mid}: {s.tokens_per_s:.1f} tok/s"


@pytest.mark.parametrize("mid,rng", [("llava-1.6-7b", (2, 4.5)), ("qwen2-vl-7b", (3, 5))])
def test_seconds_per_image_for_a_short_answer(catalog, mid, rng):
    # The seed's per-image times fit an answer of ~128 tokens; 256 would double the decode part.
    s = _speed(catalog, mid, w=Workload(max_new_tokens=128))
    assert rng[0] <= s.seconds_per_image <= rng[1], f"{mid}: {s.seconds_per_image:.2f} s"


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
