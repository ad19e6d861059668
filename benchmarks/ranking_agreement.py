"""Agreement of vlmselect's quality ranking with independent leaderboards it did not see.

For every board in tests/data/independent_boards.yaml (a frozen copy of the boards, with
sources) and each task it speaks to, the quality model is fitted WITHOUT that board's numbers (and
without other runs of the same benchmark by the same organisation), then every pair of catalog
models the board orders is checked: does the fit order it the same way? Prints pairwise
agreement and Kendall tau-a per board and task, and the pooled agreement.

    .venv/bin/python benchmarks/ranking_agreement.py
    .venv/bin/python benchmarks/ranking_agreement.py --hold-out olmocr_bench,omnidocbench_v15

`--hold-out B1,B2` also keeps every board of those benchmarks out of each fit (scores dropped,
declarations kept): how much of the agreement the other independent page-level board carries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vlmselect.agreement import leave_one_out  # noqa: E402
from vlmselect.catalog import load_catalog  # noqa: E402
from vlmselect.quality import load_boards  # noqa: E402

FROZEN = Path(__file__).resolve().parents[1] / "tests" / "data" / "independent_boards.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hold-out", default="", help="comma-separated benchmarks whose boards no fit sees")
    out = {x for x in ap.parse_args().hold_out.split(",") if x}
    cat = load_catalog(include_user=False)
    boards = [dict(b, scores={}, vendor_runs=[]) if b["benchmark"] in out else b for b in load_boards()]
    frozen = yaml.safe_load(FROZEN.read_text(encoding="utf-8"))
    total = agree = 0
    print(f"{'board':36s} {'task':14s} {'n':>3s} {'pairs':>5s} {'agree':>6s} {'tau':>6s}")
    for b in frozen:
        for t in b["tasks"]:
            if t not in cat.tasks:
                continue
            a = leave_one_out(cat, boards, dict(b, date=str(b["date"])), cat.tasks[t])
            if not a.pairs:
                continue
            total += a.pairs
            agree += a.agree
            print(f"{a.board:36s} {t:14s} {a.n:3d} {a.pairs:5d} {a.share:6.2f} {a.tau:6.2f}")
    print(f"pooled: {agree}/{total} pairs agree = {agree / max(total, 1):.2f} (Kendall tau-a {(2 * agree - total) / max(total, 1):.2f})")


if __name__ == "__main__":
    main()
