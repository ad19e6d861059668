"""2026 local models checked against the primary sources read for them (issue 10, catalog-local2).

Each test pairs a catalog number with an independent published one: an official file size, the official model
card, an official Ollama library GGUF's metadata, or Google's Gemma 4 family table. The published numbers are
written here with the page they come from, so a wrong catalog edit fails instead of being restated.
"""

from __future__ import annotations

import pytest


def test_qwen35_27b_matches_its_official_card(catalog):
    # huggingface.co/Qwen/Qwen3.5-27B commit 3b29628 (card "Model Overview"): hidden 5120, token embedding
    # 248320 (padded), 64 layers, layout 16 x (3 x Gated DeltaNet + 1 x Gated Attention).
    m = catalog.model("qwen3.5-27b")
    assert (m.arch.layers, m.arch.hidden, m.arch.vocab) == (64, 5120, 248320)
    assert m.arch.sliding_layers == 16 * 3  # the DeltaNet layers, entered as windowed layers (file header)


def test_qwen35_9b_parameter_count_matches_the_official_safetensors(catalog):
    # huggingface.co/Qwen/Qwen3.5-9B/tree/main: shards 5.28 + 5.34 + 5.37 + 3.33 GB in BF16.
    published_params = (5.28 + 5.34 + 5.37 + 3.33) * 1e9 / 2
    m = catalog.model("qwen3.5-9b")
    assert m.runners["transformers"]["size_gb"] == pytest.approx(19.32)
    # The checkpoint also stores one multi-token-prediction decoder layer (mtp_num_hidden_layers 1 in every
    # Qwen3.5 config seen): gated attention (q and gate, k, v, o) + SwiGLU FFN 12288 + fc joining two streams.
    a, ffn = m.arch, 12288
    attention = a.hidden * a.head_dim * (2 * a.heads + 2 * a.kv_heads + a.heads)
    mtp = attention + 3 * a.hidden * ffn + 2 * a.hidden * a.hidden
    assert m.params_total_b * 1e9 + mtp == pytest.approx(published_params, rel=0.01)


def test_ministral_3_3b_vision_split_matches_the_official_bf16_mmproj(catalog):
    # mistralai/Ministral-3-3B-Instruct-2512-GGUF: Ministral-3-3B-Instruct-2512-BF16-mmproj.gguf, 841501856 B.
    m = catalog.model("ministral-3-3b")
    mmproj = m.runners["gguf"]["mmproj"]
    assert mmproj["precision"] == "bf16" and mmproj["size_gb"] == pytest.approx(0.8415, abs=5e-4)
    vision = m.facts["params"]["vision_b"]
    assert vision * 1e9 * 2 == pytest.approx(841501856, rel=0.01)
    # The projector is part of that file and much smaller than the Pixtral tower it follows.
    assert 0 < m.facts["params"]["projector_b"] < 0.1 * vision


def test_gemma_4_e2b_matches_the_official_ollama_gguf_and_googles_table(catalog):
    m = catalog.model("gemma-4-e2b")
    # ollama.com/library/gemma4:e2b-it-q8_0 blob 6aade8551d1a: block_count 35, head_count 8, head_count_kv 1,
    # key_length_swa 256, sliding_window 512, embedding_length 1536, context_length 131072, pattern 4 sliding : 1.
    a = m.arch
    assert (a.layers, a.heads, a.kv_heads, a.head_dim, a.hidden) == (35, 8, 1, 256, 1536)
    assert (a.sliding_window, a.sliding_layers, m.context_max) == (512, 35 * 4 // 5, 131072)
    tags = {t["tag"]: t for t in m.runners["ollama"]}
    assert tags["gemma4:e2b-it-q8_0"]["size_gb"] == 8.1 and tags["gemma4:e2b-it-qat"]["size_gb"] == 3.3
    # Google's Gemma 4 family table: E2B 5.1B with embeddings, vision encoder ~150M.
    assert m.params_total_b == 5.1 and m.params_vision_b == pytest.approx(0.15)


def test_gemma_4_family_table_values(catalog):
    # Google's Gemma 4 family table: E4B vision encoder ~150M, 42 layers; 31B 30.7B, 60 layers, vision ~550M,
    # sliding window 1024.
    e4b, big = catalog.model("gemma-4-e4b"), catalog.model("gemma-4-31b")
    assert e4b.params_vision_b == pytest.approx(0.15) and e4b.arch.layers == 42
    assert big.params_total_b == pytest.approx(30.7) and big.arch.layers == 60
    assert big.params_vision_b == pytest.approx(0.55) and big.arch.sliding_window == 1024


def test_qwen3_vl_thinking_unknowns_name_where_they_were_looked_for(catalog):
    """A Thinking edition's missing estimator inputs say which official files were searched, not just 'unknown'."""
    for mid in ("qwen3-vl-2b-thinking", "qwen3-vl-4b-thinking", "qwen3-vl-8b-thinking", "qwen3-vl-32b-thinking",
                "qwen3-vl-30b-a3b-thinking"):
        unknown = catalog.model(mid).facts["unknown"]
        assert "arch.tied_embeddings" in unknown and "params.projector_b" in unknown
        assert all("config.json" in why for f, why in unknown.items() if f.startswith(("arch.", "params.")))


def test_gemma_4_26b_projector_is_the_official_mmproj_tensor(catalog):
    # ollama.com/library/gemma4:26b-a4b-it-qat blob d8e2de16e175 (BF16 projector file): the only multimodal tensor is
    # mm.input_projection.weight [1152, 2816], next to 27 vision blocks of width 1152.
    m = catalog.model("gemma-4-26b-a4b")
    assert m.facts["params"]["projector_b"] == pytest.approx(1152 * 2816 / 1e9, abs=5e-5)
    assert m.arch.hidden == 2816  # the projection's output width is the text stream's
    assert "params.projector_b" not in (m.facts.get("unknown") or {})


@pytest.mark.parametrize("mid, published", [
    # ollama.com/library/qwen3-vl:8b-instruct-q8_0 blob 4768dcaebbaf (the Instruct sibling; same architecture)
    ("qwen3-vl-8b-thinking", dict(layers=36, heads=32, kv_heads=8, head_dim=128, hidden=4096)),
    # ollama.com/library/qwen3-vl:30b blob b1da6f96a2e4
    ("qwen3-vl-30b-a3b-thinking", dict(layers=48, heads=32, kv_heads=4, head_dim=128, hidden=2048)),
])
def test_qwen3_vl_thinking_arch_matches_the_official_ollama_gguf(catalog, mid, published):
    a = catalog.model(mid).arch
    assert {k: getattr(a, k) for k in published} == published
    assert catalog.model(mid).context_max == 262144  # context_length in both GGUFs
