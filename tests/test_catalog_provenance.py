"""Every shipped benchmark score carries its provenance (issue 9, item 1), read from the YAML as written.

The rankings compare numbers only within one benchmark variant and one mode (`mmbench_v11` plain is not
`mmbench_v11` thinking), so a score without `mode` would be pooled as plain by default; one without `by`
would count as an independent run. The fields are required here for the shipped files (the schema keeps
them optional so a user's overlay can be terse).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

CATALOG = Path(__file__).resolve().parents[1] / "catalog"
FILES = sorted(p for p in CATALOG.glob("*.yaml") if p.stem.endswith(("models", "apis")))
REQUIRED = ("source", "by", "mode", "harness", "date")
# The key names a split or a version: the entry must say it too, in words that agree with the key.
SPLIT_SUFFIX = {"val": ("val",), "test": ("test",), "mini": ("testmini", "mini"), "testmini": ("testmini",)}


def scores():
    for path in FILES:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for entry in yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or []:
            for key, b in (entry.get("benchmarks") or {}).items():
                yield path.name, entry["id"], key, b


ALL = list(scores())


def test_the_shipped_files_have_scores_to_check():
    # Guards the parametrised tests below against passing on nothing (a renamed file, an empty glob).
    names = {p.name for p in FILES}
    assert {"models.yaml", "2026-models.yaml", "apis.yaml", "2026-docs-models.yaml"} <= names
    assert len(ALL) >= 450


@pytest.mark.parametrize("field", REQUIRED)
def test_every_score_has_the_provenance_field(field):
    missing = [f"{f}:{mid}:{key}" for f, mid, key, b in ALL if b.get(field) in (None, "")]
    assert not missing, f"{len(missing)} scores lack `{field}`: {missing[:10]}"


def test_by_and_mode_use_the_documented_words():
    bad = [(mid, key, b["by"], b["mode"]) for _, mid, key, b in ALL
           if b["by"] not in ("vendor", "independent") or b["mode"] not in ("plain", "thinking", "cot", "unknown")]
    assert not bad, bad[:10]


def test_a_key_that_names_a_split_has_that_split():
    bad = []
    for _, mid, key, b in ALL:
        m = re.search(r"_(val|test|mini|testmini)(?:_|$)", key)
        if m and not str(b.get("split", "")).lower().startswith(SPLIT_SUFFIX[m.group(1)]):
            bad.append((mid, key, b.get("split")))
    assert not bad, bad[:10]


def test_a_key_that_names_a_version_has_that_version():
    # mmbench_v11 -> 1.1, mmbench_v10 -> 1.0, omnidocbench_v15 -> 1.5 (written "1.5" or "v1.5").
    bad = []
    for _, mid, key, b in ALL:
        m = re.search(r"_v(\d)(\d)", key)
        if m and str(b.get("version", "")).lstrip("v") != f"{m.group(1)}.{m.group(2)}":
            bad.append((mid, key, b.get("version")))
    assert not bad, bad[:10]


def test_thinking_checkpoints_report_thinking_runs():
    # A checkpoint that only thinks (Qwen3-VL-*-Thinking, Kimi-VL-Thinking, GLM-4.1V-Thinking) cannot have a
    # plain-mode score: its numbers must stay out of the plain pools.
    bad = [(mid, key, b["mode"]) for _, mid, key, b in ALL if "thinking" in mid and b["mode"] != "thinking"]
    assert not bad, bad
    assert sum("thinking" in mid for _, mid, _, _ in ALL) >= 15


def test_internvl35_report_numbers_are_plain_runs_with_the_report_as_source():
    # InternVL3.5 report (arXiv 2508.18265) section 2.4: "unless otherwise specified, the experimental results
    # reported in Section 3 are obtained without applying TTS" (the Thinking mode and parallel thinking).
    rows = [(key, b) for _, mid, key, b in ALL if mid.startswith("internvl3.5-") and "2508.18265" in b["source"]]
    assert len(rows) >= 70
    assert all(b["mode"] == "plain" and b["by"] == "vendor" for _, b in rows)
