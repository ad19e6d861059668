"""Where benchmark scores are printed: each checked against the table that prints it (values copied from the tables,
not from the catalog), and the rule that a paper-table score says how it was read."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from score_sources import kind, scores, summary  # noqa: E402


@pytest.mark.parametrize("url,expected", [
    ("https://arxiv.org/abs/2508.18265", "arxiv_abs"),
    ("https://arxiv.org/html/2508.18265", "arxiv_html"),
    ("https://arxiv.org/pdf/2511.21631v2", "arxiv_pdf"),
    ("https://huggingface.co/Qwen/Qwen2-VL-7B-Instruct", "model_card"),
    ("https://huggingface.co/datasets/opendatalab/OmniDocBench", "hf_dataset"),
    ("https://github.com/opendatalab/OmniDocBench/blob/main/README.md", "github"),
    ("https://storage.googleapis.com/deepmind-media/Model-Cards/Gemini-3-Flash-Model-Card.pdf", "vendor_page"),
    ("", "none"),
])
def test_source_kinds(url, expected):
    assert kind(url) == expected


def test_a_paper_table_score_says_whether_it_was_checked():
    """An arXiv PDF or HTML prints the table; the note must say whether the value was checked in a second printing
    (or a clean copy of the table) or rests on one reading of a converted copy (`unverified`)."""
    for fname, mid, key, b in scores():
        if kind(str(b.get("source") or "")) in ("arxiv_pdf", "arxiv_html"):
            note = str(b.get("note") or "").lower()
            assert "checked" in note or "unverified" in note, (fname, mid, key)


@pytest.mark.parametrize("fname", ["models.yaml", "apis.yaml"])
def test_no_score_in_the_curated_files_cites_an_abstract_page(fname):
    """An abstract page prints no table, so it cannot be where a number was read."""
    bad = [(mid, key) for f, mid, key, b in scores() if f == fname and kind(str(b.get("source") or "")) == "arxiv_abs"]
    assert bad == []


def test_summary_counts_every_score_once():
    s = summary()
    assert s["total"] == sum(1 for _ in scores()) == sum(s["by_kind"].values())
    assert s["unverified"] <= s["total"]


# InternVL3.5 report, arXiv HTML Table 4, row InternVL3.5-8B: AI2D w/ mask 84.0, ChartQA 86.7, TextVQA 78.2,
# DocVQA 92.3, InfoVQA 79.1, OCRBench 840.
def test_internvl35_8b_document_scores_are_table_4s(catalog):
    m = catalog.models["internvl3.5-8b"]
    expect = {"ai2d_mask": 84.0, "chartqa_test": 86.7, "textvqa_val": 78.2, "docvqa_test": 92.3, "infovqa_test": 79.1,
              "ocrbench": 840}
    for key, score in expect.items():
        assert m.benchmarks[key] == score, key
        assert m.benchmark_sources[key] == "https://arxiv.org/html/2508.18265", key


# Qwen's own benchmark image in the QwenLM/Qwen3-VL README (instruct, 2B/4B/8B/32B): OCRBench 858/881/896/895,
# DocVQA test 93.3/95.3/96.1/96.9, InfoVQA test 72.4/80.3/83.1/87.0, AI2D test 76.9/84.1/85.7/89.5,
# MMMU val 53.4/67.4/69.6/76.0 - the same cells as the technical report's Table 4.
QWEN3_VL_README = {
    "ocrbench": (858, 881, 896, 895), "docvqa_test": (93.3, 95.3, 96.1, 96.9),
    "infovqa_test": (72.4, 80.3, 83.1, 87.0), "ai2d_mask": (76.9, 84.1, 85.7, 89.5),
    "mmmu_val": (53.4, 67.4, 69.6, 76.0),
}


@pytest.mark.parametrize("i,mid", list(enumerate(["qwen3-vl-2b", "qwen3-vl-4b", "qwen3-vl-8b", "qwen3-vl-32b"])))
def test_qwen3_vl_scores_match_qwens_readme_table(catalog, i, mid):
    m = catalog.models[mid]
    for key, row in QWEN3_VL_README.items():
        assert m.benchmarks[key] == row[i], (mid, key)
        assert "checked 2026-11-30" in m.benchmark_meta[key]["note"], (mid, key)


def test_paddleocr_vl_omnidocbench_is_the_maintainers_printed_value(catalog):
    """The OmniDocBench maintainers' README (catalog/boards.yaml) prints 92.86 for PaddleOCR-VL, as its report does."""
    from vlmselect.quality import load_boards

    board = {b["id"]: b for b in load_boards()}["omnidocbench-v15-opendatalab-2025-12"]
    assert board["scores"]["paddleocr-vl"] == catalog.models["paddleocr-vl"].benchmarks["omnidocbench_v15"] == 92.86


# InternVL3.5 report (arXiv HTML, read in a clipping of ar5iv's rendering): Table 4 (AI2D w / wo mask, ChartQA,
# DocVQA, OCRBench), Table 3 (MMMU, MathVista), Table 5 (RealWorldQA), Table 6 (MMBench v1.1, MMStar), Table 7
# (RefCOCO overall), Table 9 (Video-MME wo / w subtitles). The 2026 entries keep their abstract-page source until
# the provenance pass on those entries lands; their numbers are checked here against the tables.
INTERNVL35_KEYS = ("ai2d_mask", "ai2d", "chartqa", "docvqa_test", "ocrbench", "mmmu_val", "mathvista_mini",
                   "realworldqa", "mmbench_v11", "mmstar", "refcoco_avg", "videomme", "videomme_sub")
INTERNVL35_TABLES = {
    "internvl3.5-1b": (71.1, 81.8, 77.7, 85.6, 795, 44.2, 59.3, 57.6, 69.9, 51.9, 81.4, 52.4, 55.0),
    "internvl3.5-2b": (78.8, 89.1, 80.7, 89.4, 836, 59.0, 71.8, 62.0, 76.6, 62.7, 85.5, 58.4, 61.9),
    "internvl3.5-4b": (82.6, 92.3, 86.0, 92.4, 822, 66.6, 77.1, 66.3, 80.3, 65.0, 89.4, 65.4, 68.6),
    "internvl3.5-14b": (85.1, 93.3, 86.5, 93.4, 836, 73.3, 80.5, 70.5, 81.5, 70.4, 90.1, 67.9, 71.0),
    "internvl3.5-38b": (87.8, 95.1, 88.8, 94.0, 870, 76.9, 81.9, 75.9, 87.3, 75.3, 89.1, 70.9, 74.2),
    "internvl3.5-241b-a28b": (87.3, 95.0, 88.0, 94.9, 907, 77.7, 82.7, 75.2, 87.4, 77.9, 92.4, 72.9, 76.0),
}


@pytest.mark.parametrize("mid", sorted(INTERNVL35_TABLES))
def test_internvl35_2026_entries_match_the_report_tables(catalog, mid):
    m = catalog.models[mid]
    for key, score in zip(INTERNVL35_KEYS, INTERNVL35_TABLES[mid]):
        assert m.benchmarks[key] == score, (mid, key)


def test_repoint_changes_only_the_matching_scores_and_keeps_notes_valid_yaml():
    import importlib.util

    import yaml

    spec = importlib.util.spec_from_file_location(
        "repoint", Path(__file__).resolve().parents[1] / "scripts" / "repoint_score_sources.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    text = (
        "- id: m-1b\n  benchmarks:\n    ocrbench:\n      score: 795\n      source: https://arxiv.org/abs/1\n"
        "      note: Table 4, row m 1B: 795; read via a conversion\n        (id 5)\n"
        "    mmstar:\n      score: 51.9\n      source: https://arxiv.org/abs/1\n      note: Table 6\n"
        "- id: other\n  benchmarks:\n    ocrbench:\n      score: 700\n      source: https://arxiv.org/abs/1\n"
        "      note: untouched\n"
    )
    out, changed, noted = mod.repoint(text, r"m-.*", "https://arxiv.org/abs/1", "https://arxiv.org/html/1",
                                      "checked: same value", {"ocrbench"})
    assert (changed, noted) == (1, 1)
    d = {e["id"]: e["benchmarks"] for e in yaml.safe_load(out)}
    assert d["m-1b"]["ocrbench"]["source"] == "https://arxiv.org/html/1"
    assert d["m-1b"]["ocrbench"]["note"] == "Table 4, row m 1B: 795; read via a conversion (id 5); checked: same value"
    assert d["m-1b"]["mmstar"]["source"] == "https://arxiv.org/abs/1" and d["m-1b"]["mmstar"]["note"] == "Table 6"
    assert d["other"]["ocrbench"] == {"score": 700, "source": "https://arxiv.org/abs/1", "note": "untouched"}
