"""The estimator against published measurements (benchmarks/measured.yaml), within stated bounds.

Bounds are what the estimator reaches today (benchmarks/validate_estimates.py prints each row);
issue 11's goal on held-out rows is memory median <= 10 % (worst <= 25 %), decode speed median
<= 25 % (worst <= 50 %). The worst held-out memory row (Ollama 0.5.13, granite3.2-vision) was looked at
before the behaviour that explains most of it was modelled (`seen_before_modelling` in the row).
"""

from __future__ import annotations

import pytest

from vlmselect.validation import compare_all, load_rows, summarize

BOUNDS = {  # (kind, held out) -> (median, worst) of |relative error|
    ("memory", False): (0.05, 0.10),
    ("memory", True): (0.10, 0.25),
    ("speed", False): (0.20, 0.30),
    ("speed", True): (0.25, 0.30),
}


@pytest.fixture(scope="module")
def comparisons(catalog):
    return compare_all(catalog)


def test_rows_are_sourced_and_a_third_is_held_out():
    rows = load_rows()
    assert len(rows) >= 30
    for r in rows:
        assert r["source"].startswith("https://"), r["id"]
        assert r["quote"] and r["runner_version"] and r["gpu"] and r["settings"] and r["measured"], r["id"]
    held = sum(bool(r.get("holdout")) for r in rows)
    assert 0.25 <= held / len(rows) <= 0.5
    assert {r["runner"] for r in rows} >= {"transformers", "ollama", "llama.cpp", "vllm"}
    assert len({r["id"] for r in rows}) == len(rows)


@pytest.mark.parametrize("kind,holdout", list(BOUNDS))
def test_errors_within_stated_bounds(comparisons, kind, holdout):
    s = summarize(comparisons, kind, holdout)
    assert s is not None and s.n >= 5
    median, worst = BOUNDS[(kind, holdout)]
    assert s.median <= median, f"{kind} {'held out' if holdout else 'fitted'}: median {s.median:.1%}"
    assert s.worst <= worst, f"{kind} {'held out' if holdout else 'fitted'}: worst {s.worst:.1%}"
