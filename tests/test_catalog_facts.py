"""Facts the 2026-11 audit found wrong, each checked against its primary source (cited per test)."""

from __future__ import annotations

import pytest

# Gemma 3 Technical Report (arXiv 2503.19786), Table 16: instruction-tuned models on multimodal benchmarks.
# The model card's multimodal table is the pre-trained checkpoints' (e.g. 27B DocVQA 85.6, MMMU 56.1).
# Keys are the catalog's variant keys (benchmark + split), as the report's splits say.
GEMMA3_IT_TABLE16 = {
    "gemma-3-4b": {"mmmu_val": 48.8, "docvqa_test": 75.8, "infovqa_test": 50.0, "textvqa_test": 57.8, "ai2d": 74.8,
                   "chartqa_test": 68.8, "mathvista_mini": 50.0},
    "gemma-3-12b": {"mmmu_val": 59.6, "docvqa_test": 87.1, "infovqa_test": 64.9, "textvqa_test": 67.7, "ai2d": 84.2,
                    "chartqa_test": 75.7, "mathvista_mini": 62.9},
    "gemma-3-27b": {"mmmu_val": 64.9, "docvqa_test": 86.6, "infovqa_test": 70.6, "textvqa_test": 65.1, "ai2d": 84.5,
                    "chartqa_test": 78.0, "mathvista_mini": 67.6},
}
GEMMA3_PT_TABLE11_DOCVQA = {"gemma-3-4b": 72.8, "gemma-3-12b": 82.3, "gemma-3-27b": 85.6}


@pytest.mark.parametrize("mid", sorted(GEMMA3_IT_TABLE16))
def test_gemma3_scores_are_the_instruction_tuned_ones(catalog, mid):
    m = catalog.models[mid]
    for key, score in GEMMA3_IT_TABLE16[mid].items():
        assert m.benchmarks[key] == score, (mid, key)
        assert "2503.19786" in m.benchmark_sources[key]
    assert m.benchmarks["docvqa_test"] != GEMMA3_PT_TABLE11_DOCVQA[mid]
    # RealWorldQA is only in the pre-trained table: an IT entry must not carry it.
    assert "realworldqa" not in m.benchmarks
    details = m.facts["benchmarks"]["docvqa_test"]
    assert details["by"] == "vendor" and details["split"] == "test"


def test_idefics2_vision_includes_perceiver_and_projector(catalog):
    """SigLIP-SO400M alone is ~0.42B; Idefics2's vision side adds the perceiver resampler (3 layers at width
    4096) and the modality projection (1152 -> 14336 -> 4096): ~1.16B in all, beside Mistral-7B's 7.24B."""
    m = catalog.models["idefics2-8b"]
    assert m.params_vision_b == pytest.approx(1.16, abs=0.01)
    assert m.params_text_b == pytest.approx(7.24, abs=0.01)  # Mistral-7B-v0.1: 7,241,732,096 parameters
    assert m.params_total_b == pytest.approx(m.params_text_b + m.params_vision_b, abs=0.01)
    assert 0 < m.facts["params"]["projector_b"] < m.params_vision_b


BAD = """\
- id: bad-split-vl
  name: Bad Split VL
  family: bad
  released: 2025-01-01
  license: mit
  hf_repo: example/bad
  trust_remote_code: false
  params: {total_b: 2.0, vision_b: 0.3, projector_b: 0.5}
  arch: {layers: 4, kv_heads: 2, head_dim: 64, tied_embeddings: "yes"}
  context_max: 4096
  image_tokens: {rule: fixed, tokens: 64}
  capabilities: {single_image: 1, multi_image: 0, ocr: 1, documents: 0, charts: 0, grounding: 0, video: 0}
  runners: {gguf: {repo: example/bad-GGUF, mmproj: {file: mmproj-bad-Q4_K.gguf, precision: q4_k}}}
  unknown: {arch.vocab: ""}
  sources: [https://example.org/card]
"""


def test_validate_rejects_bad_estimator_inputs(cli, tmp_path):
    path = tmp_path / "bad-models.yaml"
    path.write_text(BAD)
    r = cli("catalog", "validate", str(path))
    assert r.code == 2
    assert "projector_b is part of vision_b, so cannot exceed it" in r.err
    assert "arch.tied_embeddings: must be true or false" in r.err
    assert "runners.gguf.mmproj.precision: should be 'f16', 'bf16', 'q8_0' or 'f32'" in r.err
    assert "unknown.arch.vocab: string should have at least 1 character" in r.err  # a reason is required
