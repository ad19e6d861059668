"""Facts changed by the 2026-11-30 audit (docs/audit-2026-11-30.md), each against its published value,
and the audit's sampler itself (scripts/audit_sample.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_got_ocr2_ties_its_embeddings(catalog):
    # GOT-OCR-2.0-hf config.json (huggingface.co/yonigozlan/GOT-OCR-2.0-hf, the file stepfun-ai/GOT-OCR-2.0-hf
    # carries at revision 5015eba): "tie_word_embeddings": true, "vocab_size": 151860, "hidden_size": 1024,
    # "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16.
    m = catalog.model("got-ocr2")
    arch = m.facts["arch"]
    assert arch["tied_embeddings"] is True
    assert (arch["vocab"], arch["hidden"], arch["layers"], arch["heads"], arch["kv_heads"]) == (151860, 1024, 24, 16, 16)
    assert "arch.tied_embeddings" not in (m.facts.get("unknown") or {})
    assert "https://huggingface.co/yonigozlan/GOT-OCR-2.0-hf/blob/main/config.json" in m.facts["sources"]


def test_got_ocr2_published_weights_only_fit_a_tied_lm():
    # Second, independent printing: model.safetensors on stepfun-ai/GOT-OCR-2.0-hf is 1.12 GB in bf16, i.e.
    # 0.56B parameters for the whole model (vision included). The Qwen2 decoder of that config (intermediate
    # 2816, q/k/v biases) with a separate lm_head would alone exceed it.
    vocab, hidden, layers, ffn = 151860, 1024, 24, 2816
    per_layer = 4 * hidden * hidden + 3 * hidden + 3 * hidden * ffn
    untied_lm = layers * per_layer + 2 * vocab * hidden
    assert untied_lm > 1.12e9 / 2 > untied_lm - vocab * hidden


def _sampler():
    spec = importlib.util.spec_from_file_location("audit_sample", ROOT / "scripts" / "audit_sample.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("audit_sample", mod)  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_the_audit_sample_is_reproducible_and_covers_every_file():
    mod = _sampler()
    facts = mod.all_facts()
    first = mod.sample(facts, 20261130, 2, 8, 84)
    assert first == mod.sample(facts, 20261130, 2, 8, 84)
    assert len(first) == 84 and len(set(first)) == 84
    assert {f.file for f in first} == set(mod.FILES)
    assert {"architecture", "parameters", "artifact", "licence", "release date", "context length",
            "image tokens", "price", "gpu spec", "benchmark"} <= {f.kind for f in first}
    assert all(f.source for f in first)


@pytest.mark.parametrize("n", [0, 1])
def test_small_strata_are_taken_whole(n):
    mod = _sampler()
    facts = [mod.Fact("gpus.yaml", "gpu spec", f"g{i}", "vram_gb", i, "s") for i in range(3)]
    picked = mod.sample(facts, 1, n, 5, 0)
    assert sorted(f.entry for f in picked) == ["g0", "g1", "g2"]


def test_paddleocr_vl_15_image_tokens_are_its_own_processor_limits(catalog):
    # PaddlePaddle/PaddleOCR-VL-1.5 preprocessor_config.json: "min_pixels": 112896, "max_pixels": 1003520,
    # "patch_size": 14, "merge_size": 2 -> one token per 28x28 pixels. The audit found 1.0's limits here.
    rule = catalog.model("paddleocr-vl-1.5").image_tokens
    assert rule["pixels_per_token"] == 14 * 2
    assert (rule["min_tokens"], rule["max_tokens"]) == (112896 // 28**2, 1003520 // 28**2)
    # PaddleOCR-VL 1.0 keeps its own (merve/PaddleOCR-VL-hf processor_config.json: 147384 / 2822400).
    old = catalog.model("paddleocr-vl").image_tokens
    assert (old["min_tokens"], old["max_tokens"]) == (-(-147384 // 28**2), 2822400 // 28**2)  # min rounds up


def test_paddleocr_vl_15_costs_a_300dpi_a4_page_at_most_its_max_pixels(catalog):
    from vlmselect.imagetokens import model_image_tokens

    cost = model_image_tokens(catalog.model("paddleocr-vl-1.5").image_tokens, 2480, 3508)
    # The processor downsizes the page to <= 1003520 pixels, so at most 1280 tokens (1.0 allowed 3600).
    assert 1000 < cost.tokens <= 1003520 // 28**2
