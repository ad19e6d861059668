"""How far a fitted ranking agrees with an independent board it did not see (leave one out).

Used by tests/test_quality.py and benchmarks/ranking_agreement.py, so both report the same numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from vlmselect.catalog import Catalog, TaskSpec


class Agreement(NamedTuple):
    board: str
    task: str
    n: int  # catalog items on the board
    pairs: int  # pairs the board orders (ties on the board left out)
    agree: int  # of those, pairs the fit orders the same way
    tau: float  # Kendall tau-a over those pairs: (agree - disagree) / pairs

    @property
    def share(self) -> float:
        return self.agree / self.pairs if self.pairs else float("nan")


def compare(board: dict[str, Any], fitted: dict[str, float], task: str) -> Agreement:
    """Pairwise agreement between `board`'s scores and `fitted` (higher = better) on their common ids."""
    hi = board.get("higher_is_better", True)
    ids = [i for i in board["scores"] if i in fitted]
    pairs = agree = 0
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            i, j = ids[a], ids[b]
            d = (board["scores"][i] - board["scores"][j]) * (1 if hi else -1)
            if d == 0:
                continue
            pairs += 1
            agree += (fitted[i] - fitted[j]) * d > 0
    tau = (2 * agree - pairs) / pairs if pairs else float("nan")
    return Agreement(board["id"], task, len(ids), pairs, agree, tau)


def leave_one_out(catalog: Catalog, boards: list[dict[str, Any]], board: dict[str, Any], task: TaskSpec,
                  as_of: dt.date | None = None) -> Agreement:
    """Fit `task` without `board` (and without any other board of the same benchmark run by the
    same people), then compare the fitted abilities with `board`."""
    from vlmselect.quality import task_qualities

    kept = [b for b in boards if b["id"] != board["id"] and not (b["benchmark"] == board["benchmark"]
                                                                 and b.get("by") == board.get("by"))]
    q = task_qualities({**catalog.models, **catalog.apis}, kept, task, as_of)
    return compare(board, {i: x.theta for i, x in q.items()}, task.id)
