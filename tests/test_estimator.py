"""The one estimator: weights against published artifacts, KV cache by hand, image tokens by rule."""

from __future__ import annotations

import pytest

from vlmselect.catalog import gb_to_gib
from vlmselect.imagetokens import model_image_tokens
from vlmselect.memory import Workload, estimate_memory, kv_cache_bytes, weights_only_gib
from vlmselect.units import GIB, MIB
from vlmselect.quant import QUANTS

README = "https://github.com/ollama/ollama/blob/v0.6.5/README.md#model-library"

# (model, quant, runner, published GB, where the size is published). The estimate below is
# computed from parameter counts x bits per weight, with the published sizes removed from the
# model first, so these are real checks of the formula, not echoes of the catalog.
PUBLISHED = [
    ("llama-3.2-11b-vision", "q4_k_m", "ollama", 7.9, README + " (llama3.2-vision, 11B)"),
    ("llama-3.2-11b-vision", "q8_0", "ollama", 10.0 + 1.9,
     "https://ollama.com/library/llama3.2-vision:11b-instruct-q8_0 (model 10 GB + projector 1.9 GB)"),
    ("gemma-3-12b", "q4_k_m", "ollama", 8.1, README + " (gemma3:12b)"),
    ("gemma-3-27b", "q4_k_m", "ollama", 17.0, README + " (gemma3:27b)"),
    ("llava-1.6-7b", "q4_0", "ollama", 4.5, README + " (llava 7B)"),
    ("granite-vision-3.2-2b", "q4_k_m", "ollama", 2.4, "https://ollama.com/library/granite3.2-vision/tags"),
    ("granite-vision-3.2-2b", "q8_0", "ollama", 3.6, "https://ollama.com/library/granite3.2-vision/tags"),
    ("qwen3-vl-8b", "q8_0", "ollama", 9.8, "https://ollama.com/library/qwen3-vl:8b-instruct-q8_0"),
    ("qwen3-vl-30b-a3b", "q4_k_m", "ollama", 20.0, "https://ollama.com/library/qwen3-vl:30b"),
    ("llama-4-scout", "q4_k_m", "ollama", 67.0, README + " (llama4:scout)"),
    ("internvl3-8b", "bf16", "transformers", 15.9, "https://huggingface.co/OpenGVLab/InternVL3-8B/tree/main"),
    # GGUF files + their f16 mmproj, as the repos' file listings give them:
    ("qwen2-vl-7b", "q4_k_m", "llama.cpp", 4.68 + 1.35, "https://huggingface.co/bartowski/Qwen2-VL-7B-Instruct-GGUF"),
    ("qwen2-vl-7b", "q8_0", "llama.cpp", 8.10 + 1.35, "https://huggingface.co/bartowski/Qwen2-VL-7B-Instruct-GGUF"),
    ("qwen2-vl-72b", "q4_k_m", "llama.cpp", 47.42 + 1.4, "https://huggingface.co/bartowski/Qwen2-VL-72B-Instruct-GGUF"),
    ("qwen2-vl-72b", "q2_k", "llama.cpp", 29.81 + 1.4, "https://huggingface.co/bartowski/Qwen2-VL-72B-Instruct-GGUF"),
    ("gemma-3-27b", "q8_0", "llama.cpp", 28.7 + 0.858, "https://huggingface.co/ggml-org/gemma-3-27b-it-GGUF"),
    ("llava-1.6-7b", "q4_k_m", "llama.cpp", 4.37 + 0.624, "https://huggingface.co/cjpais/llava-1.6-mistral-7b-gguf"),
    # Qwen2.5-VL: the vision half is derived from this same mmproj, so this checks the text half.
    ("qwen2.5-vl-7b", "q4_k_m", "llama.cpp", 4.68 + 1.35, "https://huggingface.co/ggml-org/Qwen2.5-VL-7B-Instruct-GGUF"),
    # 2026 models (catalog/2026-models.yaml). Parameters are derived from the config numbers, so these check the
    # derivation against artifacts nobody computed from it. Ollama's Qwen3.5 tags are one GGUF with the vision tower.
    ("qwen3.5-4b", "q4_k_m", "ollama", 3.4, "https://ollama.com/library/qwen3.5:4b (quoted in a public ADR)"),
    # bartowski's Q8_0 + f16 mmproj (bytes 4622131168 + 672423488, pinned with sha256 in public code); the
    # mmproj also gave the vision parameters, so this row checks the text half.
    ("qwen3.5-4b", "q8_0", "llama.cpp", 4.622 + 0.672, "https://huggingface.co/bartowski/Qwen_Qwen3.5-4B-GGUF"),
    ("qwen3.5-9b", "q4_k_m", "ollama", 6.6, "https://ollama.com/library/qwen3.5:9b (as re-listed by frob/qwen3.5-instruct)"),
    ("qwen3.5-27b", "q4_k_m", "ollama", 17.0, "https://ollama.com/frob/qwen3.5-instruct (27b, a re-upload of the library model)"),
    ("qwen3.5-35b-a3b", "q4_k_m", "ollama", 24.0, "https://ollama.com/frob/qwen3.5-instruct (35b, a re-upload of the library model)"),
    # ggml-org's GLM-4.6V-Flash GGUF with its Q8_0 mmproj (bytes 6166577888 + 980055680).
    # bartowski's InternVL3.5-2B Q8_0 + f16 mmproj (bytes 2165036128 + 636106144, pinned with sha256 in public code);
    # the parameters are the README's (0.3B vision, 2.0B language).
    ("internvl3.5-2b", "q8_0", "llama.cpp", 2.165 + 0.636, "https://huggingface.co/bartowski/OpenGVLab_InternVL3_5-2B-GGUF"),
    # Mistral's own Ministral 3 3B GGUF: Q4_K_M + BF16 mmproj (bytes 2147023008 + 841501856).
    ("ministral-3-3b", "q4_k_m", "llama.cpp", 2.147 + 0.842, "https://huggingface.co/mistralai/Ministral-3-3B-Instruct-2512-GGUF"),
    # Ovis2.5-2B's official BF16 files (5.16 GB); the parameters are derived from the modeling code, not from it.
    ("ovis2.5-2b", "bf16", "transformers", 5.16, "https://huggingface.co/AIDC-AI/Ovis2.5-2B/tree/main"),
    ("glm-4.6v-flash", "q4_k_m", "llama.cpp", 6.167 + 0.980, "https://huggingface.co/ggml-org/GLM-4.6V-Flash-GGUF"),
]


def _unpublished(m):
    """The model with every published artifact size removed: the estimate must come from parameters."""
    runners = {k: v for k, v in m.runners.items() if k not in ("ollama", "gguf", "transformers", "awq", "gptq", "fp8")}
    return m._replace(runners=runners)


@pytest.mark.parametrize("mid,q,runner,published_gb,source", PUBLISHED)
def test_weights_from_parameters_within_10_percent_of_published(catalog, mid, q, runner, published_gb, source):
    m = _unpublished(catalog.models[mid])
    est = weights_only_gib(m, QUANTS[q], runner)
    pub = gb_to_gib(published_gb)
    assert abs(est - pub) / pub <= 0.10, f"{mid} {q}: {est:.2f} GiB vs {pub:.2f} GiB published ({source})"


def test_published_size_is_used_when_known(catalog):
    m = catalog.models["granite-vision-3.2-2b"]
    e = estimate_memory(m, QUANTS["q8_0"], "ollama", Workload())
    assert e.weights_published
    assert e.weights_gib == pytest.approx(gb_to_gib(3.6))
    assert "published size" in e.basis["weights"]


def test_kv_cache_by_hand_qwen2_vl_7b(catalog):
    m = catalog.models["qwen2-vl-7b"]
    # llama.cpp's own log for Qwen2-VL-7B (ggml-org/llama.cpp#12405): "kv_size = 4096, ... n_layer = 28",
    # "KV self size = 224.00 MiB, K (f16): 112.00 MiB, V (f16): 112.00 MiB".
    per_token = 224.00 * MIB / 4096
    assert kv_cache_bytes(m, 4096) == pytest.approx(224.00 * MIB)
    w = Workload(context=4096, images=1, width=1024, height=1024, max_new_tokens=256)
    e = estimate_memory(m, QUANTS["bf16"], "transformers", w)
    assert e.image_tokens == 37 * 37  # round(1024/28)^2
    assert e.context_tokens == 4096 + 1369 + 256
    assert e.kv_cache_gib * GIB == pytest.approx(per_token * (4096 + 1369 + 256))


def test_kv_cache_sliding_window_counts_the_window_only(catalog):
    m = catalog.models["gemma-3-27b"]
    a = m.arch
    assert a.sliding_window and a.sliding_layers
    per = 2 * a.kv_heads * a.head_dim * 2
    full = a.layers - a.sliding_layers
    assert kv_cache_bytes(m, 32768) == per * (full * 32768 + a.sliding_layers * a.sliding_window)
    assert kv_cache_bytes(m, 32768) < per * a.layers * 32768 / 3


def test_image_tokens_grow_the_kv_cache(catalog):
    m = catalog.models["qwen2.5-vl-7b"]
    small = estimate_memory(m, QUANTS["bf16"], "transformers", Workload(images=1, width=448, height=448))
    big = estimate_memory(m, QUANTS["bf16"], "transformers", Workload(images=4, width=1344, height=1344))
    assert big.kv_cache_gib > small.kv_cache_gib
    assert big.context_tokens - small.context_tokens == 4 * 48 * 48 - 16 * 16


@pytest.mark.parametrize("rule,w,h,tokens", [
    ({"rule": "qwen2-vl", "pixels_per_token": 28, "min_tokens": 4, "max_tokens": 16384}, 1024, 1024, 1369),
    ({"rule": "qwen2-vl", "pixels_per_token": 32, "min_tokens": 64, "max_tokens": 16384}, 1024, 1024, 1024),
    ({"rule": "tiles", "tile": 448, "tokens_per_tile": 256, "max_tiles": 12, "thumbnail": True}, 448, 448, 256),
    ({"rule": "tiles", "tile": 448, "tokens_per_tile": 256, "max_tiles": 12, "thumbnail": True}, 1024, 1024, 2560),
    ({"rule": "phi3-vision", "num_crops": 16}, 1344, 1344, 2509),  # the processor formula's documented maximum
    ({"rule": "anyres", "base_tokens": 576, "tile": 336}, 672, 672, 2880),
    ({"rule": "fixed", "tokens": 256}, 4000, 3000, 256),
    ({"rule": "slices", "tokens_per_slice": 64, "max_slices": 9, "slice_pixels": 448 * 448}, 1344, 1344, 640),
])
def test_image_token_rules(rule, w, h, tokens):
    assert model_image_tokens(rule, w, h).tokens == tokens


def test_ollama_caps_qwen_images_at_1280_tokens(catalog):
    m = catalog.models["qwen2.5-vl-7b"]
    w = Workload(width=2048, height=2048)
    assert estimate_memory(m, QUANTS["q4_k_m"], "ollama", w).image_tokens <= 1280
    assert estimate_memory(m, QUANTS["bf16"], "transformers", w).image_tokens > 1280


def test_seed_72b_at_4_bits_does_not_fit_24_gb(catalog):
    m = catalog.models["qwen2-vl-72b"]
    e = estimate_memory(m, QUANTS["q4_k_m"], "llama.cpp", Workload())
    assert e.total_gib > 40
    assert e.weights_gib > 40  # ~73B x 4.89 bits: the seed's "24 GB" is off by half
    assert m.seed["vram_q4_gb"] == 24 and e.total_gib > 1.6 * gb_to_gib(m.seed["vram_q4_gb"])


def test_ordering_fp16_q8_q4_for_every_model(catalog):
    from vlmselect.catalog_views import model_vram

    for m in catalog.models.values():
        v = model_vram(m)
        assert v["fp16"] > v["q8"] > v["q4"] > 0, m.id


def test_vision_tower_stays_16_bit_in_gguf_but_not_in_nf4(catalog):
    # LLaVA-1.6's tower is CLIP ViT-L/14-336: 0.304B parameters in the catalog, not derived from the GGUF below.
    m = _unpublished(catalog.models["llava-1.6-7b"])
    gguf = estimate_memory(m, QUANTS["q4_k_m"], "llama.cpp", Workload())
    # Beside a 4-bit LLM, the published mmproj is 16-bit: cjpais/llava-1.6-mistral-7b-gguf lists
    # mmproj-model-f16.gguf at 624 MB (the projector's ~20M parameters make the rest of the gap).
    assert gguf.weights_vision_gib == pytest.approx(gb_to_gib(0.624), rel=0.05)
    # bitsandbytes quantizes the tower's Linear layers too (tests/test_tiny_llava.py counts them and
    # reads its 4.5 bits per weight from bnb's own tensors): far below 16 bits.
    nf4 = estimate_memory(m, QUANTS["nf4"], "transformers", Workload())
    assert nf4.weights_vision_gib < 0.35 * gguf.weights_vision_gib


def test_nf4_keeps_embeddings_and_lm_head_at_16_bit(catalog):
    m = _unpublished(catalog.models["qwen2-vl-7b"])
    e = estimate_memory(m, QUANTS["nf4"], "transformers", Workload())
    emb = 152064 * 3584 * 2 / 1e9  # input embedding + untied lm_head, billions of parameters
    text_b = m.params_text_b
    expect = ((text_b - emb) * 4.5 + emb * 16) * 1e9 / 8 / GIB
    assert e.weights_text_gib == pytest.approx(expect)
    assert e.weights_text_gib > text_b * 1e9 * 4.5 / 8 / GIB + 1.3  # the 16-bit embeddings (1.09B params) are visible


def test_moe_memory_uses_total_params_speed_uses_active(catalog):
    from vlmselect.speed import estimate_speed

    moe = _unpublished(catalog.models["qwen3-vl-30b-a3b"])
    dense = moe._replace(params_active_b=None, id="dense-twin")
    q = QUANTS["q4_k_m"]
    w = Workload(context=512)
    e_moe = estimate_memory(moe, q, "llama.cpp", w)
    e_dense = estimate_memory(dense, q, "llama.cpp", w)
    assert e_moe.weights_gib == pytest.approx(e_dense.weights_gib)  # all experts stay in memory
    s_moe = estimate_speed(moe, q, e_moe, w, bandwidth_gbps=935.8, tflops=142.7)
    s_dense = estimate_speed(dense, q, e_dense, w, bandwidth_gbps=935.8, tflops=142.7)
    assert s_moe.tokens_per_s > 3 * s_dense.tokens_per_s  # only ~3B of 31B are read per token


def test_breakdown_adds_up_and_names_its_basis(catalog):
    e = estimate_memory(catalog.models["gemma-3-12b"], QUANTS["q4_k_m"], "ollama", Workload())
    assert e.total_gib == pytest.approx(sum(e.parts().values()), abs=0.01)
    for part in ("weights", "kv_cache", "compute", "overhead", "image_tokens"):
        assert e.basis[part]
    assert e.overhead_gib >= 457 / 1024  # Ollama's MinimumMemory


def test_gemma_vision_graph_matches_ollamas_logged_value(catalog):
    # Ollama logs projector.graph = 1.0 GiB for gemma3 (issue #10765); ours: 4 x 4096^2 x 16 heads.
    e = estimate_memory(catalog.models["gemma-3-27b"], QUANTS["q4_k_m"], "ollama", Workload(context=512))
    g_vis = 4 * 4096 * 4096 * 16 / GIB
    assert g_vis == pytest.approx(1.0, abs=0.05)
    assert e.compute_gib >= g_vis


def test_video_frames_use_the_video_path(catalog):
    m = catalog.models["qwen2.5-vl-7b"]
    still = estimate_memory(m, QUANTS["bf16"], "transformers", Workload(images=8))
    clip = estimate_memory(m, QUANTS["bf16"], "transformers", Workload(images=8, video=True))
    assert still.image_tokens == 1369
    # smart_resize under 768 tokens: 27 x 27 = 729 tokens per frame pair, two frames per grid -> 365 per frame
    assert clip.image_tokens == 365
    assert clip.kv_cache_gib < still.kv_cache_gib
    assert "video frames" in clip.basis["image_tokens"]
