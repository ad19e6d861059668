"""Document models of 2025-26: facts as their own cards, configs and reports print them."""

from __future__ import annotations

import datetime as dt

import pytest


def test_glm_ocr_matches_its_config_and_report(catalog):
    m = catalog.model("glm-ocr")
    # zai-org/GLM-OCR config.json text_config: 16 layers, 16 heads, 8 KV heads, head_dim 128, hidden 1536,
    # vocab 59392, tie_word_embeddings false, max_position_embeddings 131072.
    a = m.arch
    assert (a.layers, a.heads, a.kv_heads, a.head_dim, a.hidden, a.vocab) == (16, 16, 8, 128, 1536, 59392)
    assert m.facts["arch"]["tied_embeddings"] is False and m.context_max == 131072
    # Technical report (arXiv 2603.10910): 0.4B CogViT encoder + 0.5B GLM decoder = 0.9B.
    assert (m.params_vision_b, m.params_text_b, m.params_total_b) == (0.4, 0.5, 0.9)
    # README: "94.62 on OmniDocBench V1.5"; model under the MIT licence.
    assert m.benchmarks["omnidocbench_v15"] == 94.62
    assert m.license == "mit" and m.commercial is True
    # preprocessor_config.json: 12544..9633792 pixels, 28-px merged patches -> 16..12288 tokens.
    assert (m.image_tokens["min_tokens"], m.image_tokens["max_tokens"]) == (12544 // 784, 9633792 // 784)


def test_paddleocr_vl_15(catalog):
    m = catalog.model("paddleocr-vl-1.5")
    assert m.released == dt.date(2026, 1, 29) and m.license == "apache-2.0"
    assert m.benchmarks["omnidocbench_v15"] == 94.5  # card: "94.5% on OmniDocBench v1.5"
    assert m.params_total_b == 0.9
    assert m.params_text_b + m.params_vision_b == pytest.approx(0.9)


def test_mineru25_split_follows_its_report(catalog):
    m = catalog.model("mineru2.5")
    # arXiv 2509.22186: 675M NaViT encoder + ~10M patch merger + 0.5B Qwen2 decoder (1.2B); Overall 90.67.
    assert m.params_vision_b == pytest.approx(0.675 + 0.01)
    assert m.facts["params"]["projector_b"] == 0.01 and m.params_text_b == 0.5
    assert m.benchmarks["omnidocbench_v15"] == 90.67


def test_benchmark_variants_are_kept_apart(catalog):
    for mid in ("glm-ocr", "paddleocr-vl-1.5", "mineru2.5"):
        keys = set(catalog.model(mid).benchmarks)
        assert keys <= {"omnidocbench_v15", "olmocr_bench"}, (mid, keys)
        for b in catalog.model(mid).facts["benchmarks"].values():
            assert b["by"] in ("vendor", "independent") and b["version"] == "v1.5"


def test_ocr_recommendation_reaches_the_new_models(cli):
    d = cli("recommend", "--task", "ocr", "--local", "--gpu", "rtx 3090", "--top", "10", "--json").json()
    ids = [p["id"] for p in d["local"]]
    assert {"glm-ocr", "paddleocr-vl-1.5", "mineru2.5"} & set(ids)
    # A 0.9B model at bf16 is a few GiB on a 24 GB card.
    glm = next(p for p in d["local"] if p["id"] == "glm-ocr")
    assert glm["fits"] and glm["vram_gib"] < 8
