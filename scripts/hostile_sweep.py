"""Run every case of the hostile-catalog mutator (tests/hostile.py `distinct_cases()`), not the
sample CI draws, and hold each to the rule tests/test_hostile_catalog.py applies:

  either `catalog validate` names the problem with its file and line and every other command exits
  2 saying the catalog is invalid (with a hint), or validate says valid and every command works
  (exit 0, or a usage refusal with a hint that is not about the catalog), with no internal error,
  no traceback, strict JSON where --json, and no printed command a shell would split differently.

The checks are the test module's own functions (imported, not restated), so the sweep and CI can
never drift apart. Runs in-process like the tests' `cli` fixture, in private user directories.

    .venv/bin/python scripts/hostile_sweep.py [--shard I/N] [--limit K] [--stride S] [--only SUBSTR] [--all | --boards]

Prints a count per outcome (valid / invalid / fail) and every failing case id with its first
failure; exit status 1 when any case fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from clirun import UNSET, run_cli, user_env  # noqa: E402  (the tests' own runner and environment)


def isolate(base: Path) -> None:
    """The environment tests/conftest.py's isolated_user gives every test (one shared cache dir)."""
    os.environ.update(user_env(base, base / "cache"))
    for var in UNSET:
        os.environ.pop(var, None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shard", default="0/1", help="I/N: run cases i, i+N, i+2N ... (0-based)")
    ap.add_argument("--stride", type=int, default=1, help="of this shard's cases, every S-th (a stratified part)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many cases (0: all)")
    ap.add_argument("--only", default="", help="only case ids containing this text")
    ap.add_argument("--all", action="store_true", help="every (entry, path, mutation) of every base entry, not only the "
                    "first entry per schema position (~29,000 cases: use --stride)")
    ap.add_argument("--boards", action="store_true", help="mutate the first shipped board of boards.yaml instead "
                    "(~680 cases; a boards.yaml among the user's files is validated with the catalog)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print each case as it runs")
    args = ap.parse_args()
    i, n = (int(x) for x in args.shard.split("/"))

    import hostile
    import test_hostile_catalog as t

    if args.boards:
        import yaml

        board = yaml.safe_load((hostile.SHIPPED / "boards.yaml").read_text(encoding="utf-8"))[0]
        cases = [("boards", f"boards:{board['id']}:{'.'.join(map(str, path))}:{name}", hostile.mutate(board, path, new))
                 for path, value in hostile.paths(board) for name, new in hostile.mutations(value)]
    elif args.all:
        cases = [(kind, desc, e) for kind, entries in hostile.bases().items() for desc, e in hostile.all_cases(kind, entries)]
    else:
        cases = hostile.distinct_cases()
    total = len(cases)
    picked = [(k, c) for k, c in enumerate(cases) if k % n == i and (not args.only or args.only in c[1])]
    picked = picked[::args.stride]
    if args.limit:
        picked = picked[:args.limit]
    print(f"{total} {'' if args.all or args.boards else 'distinct '}cases; running {len(picked)} (shard {i}/{n}, stride {args.stride})", flush=True)

    outcomes: Counter[str] = Counter()
    failures: list[tuple[str, str]] = []
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hostile-sweep-") as tmp:
        base = Path(tmp)
        isolate(base)
        for done, (k, (kind, desc, entry)) in enumerate(picked, 1):
            # A folder per case (like a test's tmp_path): the user folder and file names never collide.
            case_dir = base / f"case{k}"
            case_dir.mkdir()
            os.environ["VLMSELECT_CONFIG_DIR"] = str(case_dir / "config")
            t0 = time.monotonic()
            try:
                if kind == "boards":  # not entries: validate, then `models --json` (test_hostile_catalog.check_catalog)
                    p = case_dir / "boards.yaml"
                    p.write_text(hostile.dump([entry]), encoding="utf-8")
                    valid = t.check_catalog(run_cli, p, None, "x", desc)
                else:
                    # Odd cases go through the user's catalog folder, even ones through --catalog (as the test alternates).
                    valid = t._entry_case(run_cli, case_dir, k, kind, desc, entry, use_user_dir=bool(k % 2))
                outcomes["valid" if valid else "invalid"] += 1
            except AssertionError as exc:
                outcomes["fail"] += 1
                failures.append((desc, str(exc)[:600]))
            except Exception:  # a crash of the harness itself, or of code the cli boundary let through
                outcomes["fail"] += 1
                failures.append((desc, traceback.format_exc()[-800:]))
            if args.verbose:
                print(f"  {time.monotonic() - t0:5.2f}s {desc[:110]}", flush=True)
            if done % 50 == 0:
                el = time.monotonic() - start
                print(f"  {done}/{len(picked)} in {el:.0f}s ({el / done:.2f} s/case) {dict(outcomes)}", flush=True)
    elapsed = time.monotonic() - start
    print(f"\nran {len(picked)} cases in {elapsed:.0f}s: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    for desc, why in failures:
        print(f"FAIL {desc}\n     {why.replace(chr(10), chr(10) + '     ')}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
