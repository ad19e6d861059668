"""Every shipped local model carries the estimator's inputs, or says why not (issue 10, item 2)."""

from __future__ import annotations

import pytest

INPUTS = ("arch.vocab", "arch.tied_embeddings", "params.vision_b", "params.projector_b")


def _has(m, field):
    part, key = field.split(".")
    return (m.facts.get(part) or {}).get(key) is not None


def _local(catalog):
    return list(catalog.models.values())


def test_every_local_model_has_each_input_or_a_reason(catalog):
    missing = []
    for m in _local(catalog):
        unknown = m.facts.get("unknown") or {}
        for field in INPUTS:
            if not _has(m, field) and not str(unknown.get(field, "")).strip():
                missing.append(f"{m.id}: {field}")
        mmproj = ((m.runners.get("gguf") or {}).get("mmproj")) if isinstance(m.runners.get("gguf"), dict) else None
        if m.runners.get("gguf") and not (mmproj or {}).get("precision"):
            if not str(unknown.get("runners.gguf.mmproj.precision", "")).strip():
                missing.append(f"{m.id}: runners.gguf.mmproj.precision")
    assert not missing, "\n".join(missing)


def test_no_field_is_both_known_and_unknown(catalog):
    for m in _local(catalog):
        for field in (m.facts.get("unknown") or {}):
            if field in INPUTS:
                assert not _has(m, field), (m.id, field)


def test_mmproj_precision_matches_the_file_name(catalog):
    """A projector's precision is in its published file name: -f16 / -F16, -Q8_0, -f32, -bf16."""
    seen = set()
    for m in _local(catalog):
        g = m.runners.get("gguf")
        mm = (g or {}).get("mmproj") if isinstance(g, dict) else None
        if not mm or not mm.get("file"):
            continue
        name = mm["file"].lower()
        expect = next(p for p in ("q8_0", "bf16", "f32", "f16") if p in name)
        assert mm["precision"] == expect, (m.id, mm)
        seen.add(expect)
    assert {"f16", "q8_0"} <= seen  # both kinds ship: SmolVLM2's projectors are Q8_0


def test_qwen2_vl_official_config_facts(catalog):
    # Qwen/Qwen2-VL-72B-Instruct config.json: vocab_size 152064, tie_word_embeddings false.
    m = catalog.model("qwen2-vl-72b")
    assert m.arch.vocab == 152064 and m.facts["arch"]["tied_embeddings"] is False
    # Qwen2-VL merger (transformers): Linear(5120, 5120) + Linear(5120, hidden), both with bias.
    assert m.facts["params"]["projector_b"] == pytest.approx((5120 * 5120 + 5120 * 8192) / 1e9, rel=0.01)
    assert catalog.model("qwen2-vl-7b").facts["params"]["projector_b"] == pytest.approx(
        (5120 * 5120 + 5120 * 3584) / 1e9, rel=0.01)


def test_dots_ocr_vision_tower_is_counted(catalog):
    """The issue: dots.ocr's ~1.2B vision encoder (2.4 GB at bf16) was costed as nothing."""
    m = catalog.model("dots-ocr")
    assert m.params_vision_b == pytest.approx(1.2)
    from vlmselect.memory import Workload, estimate_memory
    from vlmselect.quant import quant

    est = estimate_memory(m, quant("bf16"), "transformers", Workload())
    assert est.weights_vision_gib == pytest.approx(1.2e9 * 2 / 2**30, rel=0.01)
