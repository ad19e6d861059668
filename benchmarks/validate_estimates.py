"""Print vlmselect's estimates against published measurements (benchmarks/measured.yaml).

    python benchmarks/validate_estimates.py [--all]

One line per measured component: estimate, measurement, signed error; then the median and worst
absolute error for memory and for decode speed, on the fitted rows and on the held-out rows
(never used to choose a constant) separately.
"""

import sys

from vlmselect.catalog import load_catalog
from vlmselect.validation import compare_all, load_rows, summarize


def main() -> None:
    comps = compare_all(load_catalog())
    # Held-out rows whose error prompted the search for a runtime behaviour (not a fitted constant).
    seen = {r["id"]: r["seen_before_modelling"] for r in load_rows() if r.get("seen_before_modelling")}
    print(f"{'row':44} {'component':20} {'estimate':>10} {'measured':>10} {'error':>8}  set")
    for c in comps:
        print(f"{c.row:44} {c.component:20} {c.estimate:10.3f} {c.measured:10.3f} {c.error:+8.1%}  "
              + ("held out" if c.holdout else "fitted") + (" *" if c.row in seen else ""))
    print()
    for kind in ("memory", "speed"):
        for holdout in (False, True):
            s = summarize(comps, kind, holdout)
            label = f"{kind:6} {'held out' if holdout else 'fitted':8}"
            print(f"{label}: " + (f"n={s.n:2d}  median |error| {s.median:6.1%}  worst {s.worst:6.1%}" if s else "no rows"))
    for rid, why in seen.items():
        print(f"* {rid}: {why}")
    if "--all" not in sys.argv:
        return


if __name__ == "__main__":
    main()
