"""Models issue 10 still lacked, each checked against a fact published apart from the catalog entry.

The published numbers are written here with the page or file they come from, so a wrong catalog edit fails instead
of being restated.
"""

from __future__ import annotations

import math

import pytest


def test_mistral_small_4_architecture_adds_up_to_the_published_count(catalog):
    """Card (mistralai/Mistral-Small-4-119B-2603): "119B parameters, with 6.5B activated per token", 128 experts,
    4 active; Hugging Face's safetensors count for the repo: 119.4B. The catalog's layers, width and vocabulary,
    with the MLA and expert sizes of transformers' Mistral4Config (checkpoint mistralai/Mistral-Small-4-119B-2603:
    q_lora_rank 1024, kv_lora_rank 256, qk 64 + 64, v 128, 128 experts of 2048 + 1 shared, top-4), must give it."""
    m = catalog.model("mistral-small-4-119b")
    a = m.arch
    q = a.hidden * 1024 + 1024 * a.heads * (64 + 64)
    kv = a.hidden * (256 + 64) + 256 * a.heads * (64 + 128)
    o = a.heads * 128 * a.hidden
    expert = 3 * a.hidden * 2048
    per_layer = q + kv + o + 128 * expert + expert + 128 * a.hidden
    text = a.layers * per_layer + 2 * a.vocab * a.hidden  # untied input and output embeddings
    assert m.facts["arch"]["tied_embeddings"] is False
    assert (text + m.params_vision_b * 1e9) / 1e9 == pytest.approx(119.4, rel=0.002)
    assert m.params_total_b == pytest.approx(119.4)
    active = a.layers * (q + kv + o + 4 * expert + expert) + 2 * a.vocab * a.hidden
    assert active / 1e9 == pytest.approx(6.5, rel=0.05)
    # The MLA cache: latent 256 + RoPE key 64 per token and layer, as 2 x kv_heads x head_dim.
    assert 2 * a.kv_heads * a.head_dim == 256 + 64
    assert m.context_max == 256 * 1024  # card: "256k context length"


def test_mistral_small_4_vision_matches_the_ministral_3_tower(catalog):
    """Both wrap a Pixtral tower in transformers' Mistral3 projector; Ministral 3 3B's split was checked against its
    official BF16 mmproj (841501856 B). The towers are equal, the projectors differ only in the text width."""
    small4, mini = catalog.model("mistral-small-4-119b"), catalog.model("ministral-3-3b")
    tower = mini.params_vision_b - mini.facts["params"]["projector_b"]
    proj = small4.facts["params"]["projector_b"]
    assert small4.params_vision_b - proj == pytest.approx(tower, abs=0.003)
    assert proj * 1e9 == pytest.approx(1024 + 4 * 1024 * 1024 + 1024 * 4096 + 4096 * 4096, rel=0.01)


def test_gemma_3n_e2b_geometry_and_ollama_tag(catalog):
    # E2B text geometry as quoted from the official config in three ports (notes): 30 layers, 8 heads, 2 KV heads
    # of 256, hidden 2048, vocab 262400, every 5th layer global, the rest sliding 512, 32K context.
    m = catalog.model("gemma-3n-e2b")
    a = m.arch
    assert (a.layers, a.heads, a.kv_heads, a.head_dim, a.hidden, a.vocab) == (30, 8, 2, 256, 2048, 262400)
    assert (a.sliding_window, a.sliding_layers, m.context_max) == (512, 30 - 30 // 5, 32768)
    # ollama.com/library/gemma3n:e2b: 5.6GB, Q4_K_M.
    tag = next(t for t in m.runners["ollama"] if t["tag"] == "gemma3n:e2b")
    assert (tag["quant"], tag["size_gb"]) == ("q4_k_m", 5.6)
    # The E2B is the smaller of the pair: fewer layers than the E4B, same head geometry.
    e4b = catalog.model("gemma-3n-e4b")
    assert a.layers < e4b.arch.layers and (a.kv_heads, a.head_dim) == (e4b.arch.kv_heads, e4b.arch.head_dim)


def _official_deepseek_vl2_tokens(cols: int, rows: int) -> int:
    """processing_deepseek_vl_v2.py (deepseek-ai/DeepSeek-VL2): h = w = ceil((384 // 14) / 2); global view
    h * (w + 1), one separator, local views (rows * h) * (cols * w + 1)."""
    h = w = math.ceil((384 // 14) / 2)
    return h * (w + 1) + 1 + (rows * h) * (cols * w + 1)


# The tile rule never under-counts; it is tight from 2 x 2 tiles up. A one-tile image (421 official tokens) is
# costed as a 2 x 2 grid: the rule's at-least-two-tiles floor is what keeps it an upper bound (notes).
@pytest.mark.parametrize("w, h, grid, slack", [(384, 384, (1, 1), 2.6), (384, 768, (1, 2), 1.05),
                                               (768, 768, (2, 2), 1.05), (1152, 1152, (3, 3), 1.05)])
def test_deepseek_vl2_image_tokens_bound_the_official_processor(catalog, w, h, grid, slack):
    from vlmselect.imagetokens import model_image_tokens

    m = catalog.model("deepseek-vl2-small")
    official = _official_deepseek_vl2_tokens(*grid)
    estimated = model_image_tokens(m.image_tokens, w, h).tokens
    assert official <= estimated <= slack * official


def test_deepseek_vl2_small_matches_its_readme(catalog):
    # README: "vl2-small, 16.1B-MoE in total"; introduction: 2.8B activated; sequence length 4096; DeepSeek Model
    # License, "supports commercial use"; released 2024-12-13.
    m = catalog.model("deepseek-vl2-small")
    assert (m.params_total_b, m.facts["params"]["active_b"], m.context_max) == (16.1, 2.8, 4096)
    assert m.license == "deepseek" and m.commercial is True
    # DeepSeekMoE-16B (config_16B.json / DeepSeek-Coder-V2-Lite-Base config.json): 27 layers, width 2048, 16 heads,
    # MLA latent 512 + RoPE key 64 per token and layer.
    a = m.arch
    assert (a.layers, a.hidden, a.heads) == (27, 2048, 16)
    assert 2 * a.kv_heads * a.head_dim == 512 + 64


def _qwen35_text_params(a, ffn_total_per_layer: float, dn_key_heads: int, dn_value_heads: int, tied: bool) -> float:
    """Gated attention (q with output gate, k, v, o) on every 4th layer, Gated DeltaNet (qkv, z, a/b, conv 4, out)
    on the rest, the FFN given per layer, and the embeddings."""
    attention = a.hidden * a.head_dim * (2 * a.heads + 2 * a.kv_heads + a.heads)
    kd, vd = dn_key_heads * 128, dn_value_heads * 128
    deltanet = a.hidden * (2 * kd + vd) + a.hidden * vd + 2 * a.hidden * dn_value_heads + (2 * kd + vd) * 4 + vd * a.hidden
    full = a.layers - a.sliding_layers
    embeddings = a.vocab * a.hidden * (1 if tied else 2)
    return full * attention + a.sliding_layers * deltanet + a.layers * ffn_total_per_layer + embeddings


def test_qwen35_122b_adds_up_to_the_published_gguf_count_and_disk_size(catalog):
    # A llama.cpp text GGUF of the model reports 122.11B parameters (llmgarage.ai); the BF16 repo is about 250 GB on
    # disk (olka-fi/Qwen3.5-122B-A10B-MXFP4 card). Experts: 256 of 1024 + 1 shared, a router per layer.
    m = catalog.model("qwen3.5-122b-a10b")
    a = m.arch
    assert (a.layers, a.sliding_layers) == (48, 36)  # 12 x (3 DeltaNet + 1 attention)
    moe = 257 * 3 * a.hidden * 1024 + 256 * a.hidden + a.hidden
    text = _qwen35_text_params(a, moe, 16, 64, tied=False)
    assert text / 1e9 == pytest.approx(122.11, abs=0.02)
    assert m.params_text_b == pytest.approx(122.11, abs=0.01)
    assert m.params_total_b * 2 == pytest.approx(250, rel=0.03)  # BF16 bytes, MTP layer aside
    # Active per token: 8 routed + 1 shared experts, everything else dense: the name's A10B.
    active = _qwen35_text_params(a, 9 * 3 * a.hidden * 1024 + 256 * a.hidden, 16, 64, tied=False)
    assert active / 1e9 == pytest.approx(m.facts["params"]["active_b"], rel=0.05)


def test_qwen35_2b_layout_matches_its_model_overview(catalog):
    # Card Model Overview as restated (awesomeagents.ai): 24 layers = 6 x (3 x Gated DeltaNet + 1 x Gated
    # Attention), hidden 2048, 8 Q / 2 KV heads of 256, vocab 248320.
    m = catalog.model("qwen3.5-2b")
    a = m.arch
    assert (a.layers, a.sliding_layers, a.hidden, a.heads, a.kv_heads, a.head_dim) == (24, 18, 2048, 8, 2, 256)
    # The same attention and DeltaNet geometry as the 0.8B, whose Megatron recipe was read: the same recurrent-state
    # window in per-token KV units.
    small = catalog.model("qwen3.5-0.8b")
    assert (a.kv_heads, a.head_dim, a.sliding_window) == (small.arch.kv_heads, small.arch.head_dim, small.arch.sliding_window)
    # text_b counts the larger, untied case while tie_word_embeddings is unknown.
    assert "arch.tied_embeddings" in m.facts["unknown"]
    assert m.params_text_b * 1e9 == pytest.approx(_qwen35_text_params(a, 3 * a.hidden * 6144, 16, 16, tied=False), rel=0.01)


def test_mistral_large_3_fp8_needs_the_h200_node_its_card_names(cli):
    """Card: FP8 "on a single node of B200s or H200s", NVFP4 on "a single node of H100s or A100s"; vLLM's recipe
    serves the FP8 repo with tensor parallel 8 on 8 x H200. The catalog's 675B must reproduce both sides."""
    on_h200 = cli("estimate", "mistral-large-3-675b", "--gpu", "h200", "--gpu-count", "8",
                  "--quant", "fp8", "--runner", "vllm", "--json").json()
    on_h100 = cli("estimate", "mistral-large-3-675b", "--gpu", "h100-sxm", "--gpu-count", "8",
                  "--quant", "fp8", "--runner", "vllm", "--json").json()
    assert on_h200["fits"] is True and on_h100["fits"] is False
    assert 600 < on_h200["total_gib"] < 700


def test_mistral_large_3_split_and_mla_cache(catalog):
    # Card: 673B language model + 2.5B vision encoder = 675B; 41B active (39B in the language model).
    m = catalog.model("mistral-large-3-675b")
    assert (m.params_text_b, m.params_vision_b, m.params_total_b) == (673, 2.5, 675)
    assert m.facts["params"]["active_b"] == 41
    # DeepSeek-V3 layout (deepseek-ai/DeepSeek-V3 config.json: 61 layers, kv_lora_rank 512, qk_rope_head_dim 64).
    assert m.arch.layers == 61 and 2 * m.arch.kv_heads * m.arch.head_dim == 512 + 64


def test_keye_vl_15_split_matches_its_named_parts(catalog):
    """Keye-VL-1.5 = SigLIP-400M-384-14 + projector + Qwen3-8B. Qwen3-8B's card: 8.2B parameters (config: 36 layers,
    4096 wide, 32 / 8 heads of 128, FFN 12288, vocab 151936, untied); google/siglip-so400m-patch14-384's vision
    config: 27 layers, width 1152, MLP 4304, patch 14, 384 px (about 0.4B)."""
    m = catalog.model("keye-vl-1.5-8b")
    a = m.arch
    assert (a.layers, a.hidden, a.heads, a.kv_heads, a.head_dim, a.vocab) == (36, 4096, 32, 8, 128, 151936)
    assert m.params_text_b == pytest.approx(8.2, abs=0.05)
    siglip = 27 * (4 * (1152 * 1152 + 1152) + 2 * 1152 * 4304 + 4304 + 1152 + 4 * 1152) + 3 * 14 * 14 * 1152 + 27 * 27 * 1152
    assert m.params_vision_b * 1e9 == pytest.approx(siglip, rel=0.01)
    # No licence was read: commercial use stays unstated, which --commercial treats as unknown.
    assert m.commercial is None and "license" in m.facts["unknown"]
    assert m.context_max == 128 * 1024  # card: "up to 128k tokens"


def test_chandra_pair_matches_the_v020_release_notes_and_official_code(catalog):
    # GitHub release v0.2.0: "a 4B parameter OCR model that scores 85.9% on the olmOCR benchmark ... smaller and more
    # accurate than Chandra 1 (9B)"; olmOCR overall 83.1 -> 85.9.
    one, two = catalog.model("chandra"), catalog.model("chandra-ocr-2")
    assert round(one.params_total_b) == 9 and round(two.params_total_b) in (4, 5)
    assert two.benchmarks["olmocr_bench"] == 85.9 and "83.1" in one.facts["notes"]
    # A community GGUF of Chandra 2 lists 9.25 GB at 16 bits: two bytes per parameter of the catalogued model.
    assert two.params_total_b * 2 == pytest.approx(9.25, rel=0.03)
    # chandra/model/util.py scale_to_fit: pages at most 3072 x 2048 px; Qwen3-VL tokens are 32 x 32 px.
    assert one.image_tokens["max_tokens"] == 3072 * 2048 // (32 * 32)
    # MODEL_LICENSE: modified OpenRAIL-M, commercial use only for small startups or with a paid licence.
    assert one.commercial is False and two.commercial is False


def test_commercial_filter_drops_chandra(cli):
    d = cli("recommend", "--task", "ocr", "--local", "--gpu", "rtx 4090", "--commercial", "--top", "80", "--json").json()
    assert not {"chandra", "chandra-ocr-2"} & {p["id"] for p in d["local"]}
    reasons = {e["id"]: e["reason"] for e in d["excluded"]}
    assert "commercial" in reasons["chandra"]


def test_infinity_parser_follows_its_official_cli(catalog, cli):
    # Infinity-Parser/inference/main.py: --min_pixels 200704, --max_pixels 1806336 (28 x 28 px per token);
    # vllm_backend.py: limit_mm_per_prompt {"image": 1}.
    m = catalog.model("infinity-parser-7b")
    assert (m.image_tokens["min_tokens"], m.image_tokens["max_tokens"]) == (200704 // 784, 1806336 // 784)
    assert m.facts["max_images"] == 1
    d = cli("recommend", "--task", "ocr", "--local", "--gpu", "rtx 4090", "--images", "2", "--top", "80",
            "--json").json()
    assert "infinity-parser-7b" not in {p["id"] for p in d["local"]}
    assert "infinity-parser-7b" in {e["id"] for e in d["excluded"]}


def test_paddleocr_vl_16_is_a_drop_in_for_15(catalog):
    # Card: "The model architecture is fully compatible with PaddleOCR-VL-1.5"; "96.33% on OmniDocBench v1.6";
    # Apache 2.0. The v1.6 score is its own variant, never mixed with the v1.5 ones.
    new, old = catalog.model("paddleocr-vl-1.6"), catalog.model("paddleocr-vl-1.5")
    fields = ("layers", "kv_heads", "head_dim", "hidden", "heads", "vocab")
    assert [getattr(new.arch, f) for f in fields] == [getattr(old.arch, f) for f in fields]
    assert new.params_total_b == old.params_total_b == 0.9
    assert new.benchmarks == {"omnidocbench_v16": 96.33}
    assert new.license == "apache-2.0" and new.commercial is True
    assert new.released > old.released


def test_internvl35_20b_a4b_matches_report_table_1(catalog):
    """InternVL3.5 report (arXiv 2508.18265) Table 1: GPT-OSS-20B language model 20.9B, InternViT-300M 0.3B, total
    21.2B, A4B. gpt-oss-20b's config: 32 experts of 2880 (SwiGLU with biases), top-4, attention with biases."""
    m = catalog.model("internvl3.5-20b-a4b")
    a = m.arch
    q_out = a.heads * a.head_dim
    kv_out = a.kv_heads * a.head_dim
    attention = a.hidden * (q_out + 2 * kv_out) + (q_out + 2 * kv_out) + q_out * a.hidden + a.hidden + a.heads
    expert = a.hidden * 2 * 2880 + 2 * 2880 + 2880 * a.hidden + a.hidden
    router = 32 * a.hidden + 32
    embeddings = 2 * a.vocab * a.hidden
    text = a.layers * (attention + 32 * expert + router) + embeddings
    assert text / 1e9 == pytest.approx(20.9, abs=0.05) and m.params_text_b == 20.9
    active = a.layers * (attention + 4 * expert + router) + embeddings
    assert active / 1e9 == pytest.approx(m.facts["params"]["active_b"], rel=0.1)
    assert m.params_total_b == pytest.approx(m.params_text_b + m.params_vision_b)
    assert (a.sliding_window, a.sliding_layers) == (128, a.layers // 2)
