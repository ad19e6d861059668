"""Independent leaderboards (catalog/boards.yaml): their schema check and loader.

A board is one evaluator's run of one benchmark over many models; vlmselect.quality turns its rows
into paired comparisons. The catalog loader calls `validate_boards` so `catalog validate` reports
a bad board with the rest of the catalog.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

BOARD_FIELDS = {"id": str, "benchmark": str, "version": str, "split": str, "metric": str, "by": str,
                "harness": str, "source": str, "tasks": list, "scores": dict}
MODES = ("plain", "thinking", "cot")  # as quality.MODE_WEIGHT
SCORE_MAX = 1e12  # scores are percentages or points; NaN and infinities fail the range too


def validate_boards(data: Any) -> list[str]:
    """Problems with a boards.yaml document (empty: fine)."""
    if not isinstance(data, list):
        return ["boards.yaml must be a list of boards"]
    problems, seen = [], set()
    for i, b in enumerate(data):
        where = f"board #{i + 1}" + (f" ({b.get('id')})" if isinstance(b, dict) and b.get("id") else "")
        if not isinstance(b, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        for f, t in BOARD_FIELDS.items():
            if not isinstance(b.get(f), t):
                problems.append(f"{where}: {f} must be a {t.__name__}")
        if isinstance(b.get("id"), str):  # (a list as id is reported above, and is unhashable)
            if b["id"] in seen:
                problems.append(f"{where}: duplicate id")
            seen.add(b["id"])
        if not isinstance(b.get("date"), (dt.date, str)):
            problems.append(f"{where}: date must be a date")
        if not str(b.get("source", "")).startswith("http"):
            problems.append(f"{where}: source must be a URL")
        if b.get("mode", "plain") not in MODES:  # a board whose every row is a thinking run says so
            problems.append(f"{where}: mode must be one of {', '.join(MODES)}")
        if not isinstance(b.get("unmatched") or {}, dict):
            problems.append(f"{where}: unmatched must be a dict")
        for table in ("scores", "unmatched"):  # a table of another type is reported above
            rows = b.get(table)
            for k, v in (rows.items() if isinstance(rows, dict) else ()):
                # A comparison, not math.isfinite: that converts an int to a float, and 10**400 overflows.
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not -SCORE_MAX <= v <= SCORE_MAX:
                    problems.append(f"{where}: score of {k} must be a number")
    return problems


def load_boards(path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """catalog/boards.yaml, validated; cached as JSON beside the catalog cache."""
    from pathlib import Path

    from vlmselect.errors import UsageError

    if path is None:
        from vlmselect.catalog import shipped_dir

        path = shipped_dir() / "boards.yaml"
    path = Path(path)
    if not path.exists():
        return []
    import yaml

    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    problems = validate_boards(data)
    if problems:
        raise UsageError(f"invalid {path}:\n  " + "\n  ".join(problems), "fix the boards above")
    return [dict(b, date=str(b.get("date", ""))) for b in data]


def _org(by: str) -> str:
    """Who ran a board, without the detail: `Allen Institute for AI (Ai2), in-house runs` -> its first clause."""
    return by.split(",")[0].strip().lower()
