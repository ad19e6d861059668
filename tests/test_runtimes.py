"""Runtime behaviours by version, each checked against what a runtime reported (logs, measurements)."""

from __future__ import annotations

import pytest

from vlmselect import runtimes as rtm
from vlmselect.errors import UsageError
from vlmselect.memory import Workload, estimate_memory
from vlmselect.units import GIB, MIB
from vlmselect.quant import QUANTS
from vlmselect.runtimes import RuntimeOptions, resolve


def test_every_behaviour_names_its_source_and_a_known_runner():
    for b in rtm.BEHAVIOURS:
        assert b.runner in rtm.KNOWN_VERSIONS and b.source and b.what, b
        for v in (b.since, b.until):
            assert v is None or rtm.version_key(v) > (0,)


@pytest.mark.parametrize("a,b", [("b6343", "b7000"), ("0.13.3", "0.13.4"), ("4.45.0.dev0", "4.45.1"),
                                 ("0.9.0", "0.10.1"), ("4.9.0", "4.45.0")])
def test_version_order(a, b):
    assert rtm.version_key(a) < rtm.version_key(b)


def test_flash_attention_defaults_follow_the_version():
    assert not resolve("llama.cpp", RuntimeOptions(version="b5000")).flash_attention
    assert resolve("llama.cpp", RuntimeOptions(version="b6343")).flash_attention  # -fa auto
    assert not resolve("ollama", RuntimeOptions(version="0.6.1")).flash_attention
    assert resolve("ollama", RuntimeOptions(version="0.17.0"), family="qwen3-vl").flash_attention
    # Ollama's load request for qwen2.5vl says FlashAttention:Disabled (ollama#14312).
    assert not resolve("ollama", RuntimeOptions(version="0.17.0"), family="qwen2.5-vl").flash_attention
    assert resolve("llama.cpp", RuntimeOptions(version="b5000", flash_attention="on")).flash_attention


def test_kv_cache_types_are_checked_per_runner():
    with pytest.raises(UsageError):
        resolve("transformers", RuntimeOptions(kv_cache="q8_0"))
    with pytest.raises(UsageError):  # llama.cpp refuses a quantized V cache without flash attention
        resolve("llama.cpp", RuntimeOptions(kv_cache="q4_0", flash_attention="off"))
    # Ollama falls back to f16 when flash attention is off.
    assert resolve("ollama", RuntimeOptions(kv_cache="q8_0", flash_attention="off")).kv_cache == "f16"
    assert resolve("vllm", RuntimeOptions(kv_cache="fp8")).kv_cache == "fp8"
    assert resolve("transformers", RuntimeOptions(kv_cache="q8_0"), strict=False).kv_cache == "f16"


@pytest.mark.parametrize("fa,ub,mib", [(True, 512, 5.01), (True, 128, 1.25), (False, 512, 40.76), (False, 128, 10.19)])
def test_llama_cpp_compute_buffer_matches_measured_tiny_model(fa, ub, mib):
    # shared/reference/runtimes.md: a 2-layer llama (n_embd 64, head_dim 16 -> 4 heads, ~300-token
    # vocab) at -c 4096 reported these compute buffers on llama.cpp 0c1e570.
    got = rtm.ggml_text_compute_bytes(hidden=64, heads=4, vocab=300, ctx=4096, fa=fa, ubatch=ub) / MIB
    assert got == pytest.approx(mib, rel=0.1)


def test_llama_server_rounds_the_context_up_to_256():
    rt = resolve("llama.cpp", RuntimeOptions(version="b7000"))
    assert rtm.ctx_cells(rt, 4800) == 4864  # measured (shared/reference/runtimes.md)


def test_swa_cells_per_runtime():
    # GenieX PR #1346 quotes llama.cpp: 'pad(min(n_ctx, n_swa + n_ubatch), 256) = pad(1536, 256) = 1536'
    # at n_ctx 4096, n_swa 512 (so its n_ubatch was 1024).
    assert rtm.swa_cells(resolve("llama.cpp", RuntimeOptions(version="b7000")), 4096, 512, ubatch=1024) == 1536
    assert rtm.swa_cells(resolve("llama.cpp", RuntimeOptions(version="b5000")), 4096, 512) == 4096
    assert rtm.swa_cells(resolve("ollama", RuntimeOptions(version="0.6.5")), 8192, 1024, parallel=2) == 2560
    assert rtm.swa_cells(resolve("ollama", RuntimeOptions(version="0.6.1")), 8192, 1024, parallel=4) == 8192


def test_gemma3_kv_under_ollama_matches_its_logs(catalog):
    m = catalog.models["gemma-3-12b"]
    q = QUANTS["q4_k_m"]
    # One slot: 4 did not fit the reporter's 11.5 GiB (0.6.5 tries 4, then 1; memory.required.full 10.3 GiB at 1).
    w = Workload(context=2048, images=0, max_new_tokens=0, runtime=RuntimeOptions(version="0.6.5", parallel=1))
    assert estimate_memory(m, q, "ollama", w).kv_cache_gib * GIB / MIB == pytest.approx(608.0, rel=0.01)  # ollama#10341
    old = w._replace(context=2048, runtime=RuntimeOptions(version="0.6.1", parallel=4))  # 2048 per slot
    assert estimate_memory(m, q, "ollama", old).kv_cache_gib == pytest.approx(3.0, rel=0.02)  # ollama#9791


def test_ollama_0134_reserves_the_worst_case_image(catalog):
    m = catalog.models["qwen2.5-vl-7b"]
    q = QUANTS["q4_k_m"]
    w = Workload(context=16384, images=0, max_new_tokens=0)
    before = estimate_memory(m, q, "ollama", w._replace(runtime=RuntimeOptions(version="0.13.3")))
    after = estimate_memory(m, q, "ollama", w._replace(runtime=RuntimeOptions(version="0.13.4")))
    # ollama#13722: 9.4 GB -> 14 GB in `ollama ps` for this model and window.
    assert after.total_gib - before.total_gib > 2.0
    assert "worst case" in after.basis["compute"]


def test_transformers_full_logits_by_version(catalog):
    m = catalog.models["qwen2-vl-7b"]
    w = Workload(context=30720, images=0, max_new_tokens=2048)
    old = estimate_memory(m, QUANTS["bf16"], "transformers", w._replace(runtime=RuntimeOptions(version="4.45.0")))
    new = estimate_memory(m, QUANTS["bf16"], "transformers", w._replace(runtime=RuntimeOptions(version="4.57.0")))
    # Qwen's table: 16.07 GiB at input 1, 44.08 at 30720 (transformers 4.45.0.dev0): ~26 GiB of fp32 logits.
    assert old.compute_gib - new.compute_gib > 20
    assert "full-sequence logits" in old.basis["compute"]


def test_kv_q8_0_block_size_matches_llama_cpp_log(catalog):
    m = catalog.models["qwen3-vl-8b"]
    w = Workload(context=16384, images=0, max_new_tokens=0,
                 runtime=RuntimeOptions(version="b7000", flash_attention="on", kv_cache="q8_0"))
    mem = estimate_memory(m, QUANTS["q4_k_m"], "llama.cpp", w)
    assert mem.kv_cache_gib * GIB / MIB == pytest.approx(1224.0, rel=0.001)  # lmstudio-bug-tracker#1176


def test_mmproj_precision_is_read_from_the_catalog(catalog):
    from tests.test_estimator import _unpublished

    m = _unpublished(catalog.models["qwen2.5-vl-7b"])
    gguf = dict(m.runners.get("gguf") or {})
    f16 = estimate_memory(m, QUANTS["q4_k_m"], "llama.cpp", Workload())
    m8 = m._replace(runners=dict(m.runners, gguf=dict(gguf, mmproj=dict(gguf.get("mmproj") or {}, precision="q8_0"))))
    q8 = estimate_memory(m8, QUANTS["q4_k_m"], "llama.cpp", Workload())
    assert q8.weights_vision_gib < f16.weights_vision_gib  # the catalog's precision is what is charged
    # ggml-org/Qwen2.5-VL-7B-Instruct-GGUF publishes both projectors: f16 1354162912 B (the catalog derives
    # params.vision_b from it, so it cannot check the estimate) and Q8_0 853119712 B, 63 % of it rather than
    # 8.5/16 = 53 %: llama.cpp's converter keeps tensors whose rows are not whole 32-weight blocks at F16
    # (convert_hf_to_gguf falls back on gguf.QuantError). The estimator charges 8.5 bits for every weight,
    # so it is under by about 16 % on this projector; the test pins that gap.
    assert 0.80 < q8.weights_vision_gib * GIB / 853119712 < 0.88


def test_detect_version_reads_metadata_only():
    v = rtm.detect_version("transformers")
    assert v is None or rtm.version_key(v) > (4,)
    assert rtm.detect_version("ollama") is None  # no subprocess on the start-up path


@pytest.mark.parametrize("version,vram,ctx", [
    # Ollama's own table: server/routes.go Serve at 0334ffa (v0.15.5+) and routes_options_test.go;
    # 23.6 GiB is what Ollama logs as an RTX 3090's total (ollama#10740), above its 23 GiB threshold.
    ("0.17.0", 23.6, 32768), ("0.17.0", 8.0, 4096), ("0.17.0", 2 * 23.6, 262144), ("0.15.5", 0.0, 4096),
    ("0.15.4", 23.6, 4096),  # before the tiers: envconfig OLLAMA_CONTEXT_LENGTH default 4096 (44b466e, v0.6.7)
    ("0.6.5", 23.6, 2048),  # before 44b466e: 2048
])
def test_ollama_default_context_follows_its_version_and_vram(version, vram, ctx):
    assert rtm.ollama_default_context(version, vram, family="gemma-3") == ctx


def test_ollama_qwen3vl_window_floor_matches_ollama_ps():
    # ollama#12846: qwen3-vl:30b with default settings on an RTX 3090, Ollama 0.12.7 -> CONTEXT 8192.
    assert rtm.ollama_default_context("0.12.7", 23.6, family="qwen3-vl") == 8192
    assert rtm.ollama_default_context("0.12.7", 16.0, family="qwen3-vl") == 4096  # low-VRAM mode (< 20 GiB)
    assert rtm.ollama_default_context("0.17.0", 16.0, family="qwen3-vl") == 4096  # the floor went with 0334ffa
    # llm/server.go cuts num_ctx to the trained context (v0.9.3+).
    assert rtm.ollama_default_context("0.17.0", 80.0, family="qwen2.5-vl", context_max=128000) == 128000


def test_ollama_default_slots_multiply_the_window(catalog):
    # server/sched.go defaultParallel: 4 until v0.6.6, 2 until v0.9.6, then 1; KV is num_ctx x slots.
    assert [rtm.ollama_default_parallel(v) for v in ("0.5.13", "0.6.7", "0.10.0")] == [4, 2, 1]
    m = catalog.models["qwen2.5-vl-7b"]
    w = Workload(context=4096, images=0, max_new_tokens=0)
    old = estimate_memory(m, QUANTS["q4_k_m"], "ollama", w._replace(runtime=RuntimeOptions(version="0.9.0")))
    new = estimate_memory(m, QUANTS["q4_k_m"], "ollama", w._replace(runtime=RuntimeOptions(version="0.13.3")))
    assert old.context_tokens == 8192 and new.context_tokens == 4096
    assert old.kv_cache_gib == pytest.approx(2 * new.kv_cache_gib)


def test_printed_ollama_command_sets_the_window_it_assumed(catalog):
    from vlmselect.commands import next_steps
    from vlmselect.placement import Placement

    m = catalog.models["gemma-3-12b"]
    q = QUANTS["q4_k_m"]
    w = Workload(context=4096, images=1, max_new_tokens=256, runtime=RuntimeOptions(version="0.17.0"))
    mem = estimate_memory(m, q, "ollama", w)
    steps = next_steps(m, Placement(mode="gpu", runner="ollama", quant=q, mem=mem, speed=None, gpu_indices=(0,)), w)
    cmd = " ; ".join(steps.lines)  # `ollama serve` with the settings, then `ollama run`
    assert mem.context_tokens == 4096 + 256 + 256  # text + Gemma 3's fixed 256 image tokens + new tokens
    assert f"OLLAMA_CONTEXT_LENGTH={mem.context_tokens} ollama serve" in cmd and "ollama run gemma3:12b" in cmd
    old = resolve("ollama", RuntimeOptions(version="0.9.0"))  # older servers chose 2 slots themselves
    assert rtm.command_env(old, 4096) == {"OLLAMA_CONTEXT_LENGTH": "4096", "OLLAMA_NUM_PARALLEL": "2"}


def test_estimate_reports_what_ollamas_own_default_window_would_take(catalog):
    from vlmselect.catalog_views import estimate_one
    from vlmselect.hardware import build_profile

    hw = build_profile(catalog, gpu="3090", gpu_count=1, vram=None, ram=None, cpu_only=False)
    w = Workload(context=4096, images=1, max_new_tokens=256, runtime=RuntimeOptions(version="0.17.0"))
    d = estimate_one(catalog, catalog.models["qwen2.5-vl-7b"], "q4_k_m", "ollama", w, hw)
    # 0334ffa: a 24 GiB card gets 32768 (qwen2.5-vl's trained context is larger), so more KV than 4096 + image.
    assert d["ollama_default_context"]["tokens"] == 32768
    assert d["ollama_default_context"]["total_gib"] > d["total_gib"] + 1.0
    assert any("OLLAMA_CONTEXT_LENGTH" in n for n in d["notes"])
