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


def held_out(boards: list[dict[str, Any]], board: dict[str, Any]) -> list[dict[str, Any]]:
    """`boards` without `board`'s numbers, nor those of other runs of its benchmark by the same
    organisation (Ai2's two olmOCR-Bench READMEs word `by` differently but are one evaluator's
    runs: olmOCR 2 is 82.4 in both). They stay as declarations without scores: which benchmark
    they run and which tasks it speaks to is a property of the task, not evidence."""
    from vlmselect.boards import _org

    def same(b: dict[str, Any]) -> bool:
        return b["id"] == board["id"] or (b["benchmark"] == board["benchmark"]
                                          and _org(b.get("by", "")) == _org(board.get("by", "")))
    return [dict(b, scores={}, vendor_runs=[]) if same(b) else b for b in boards]


def leave_one_out(catalog: Catalog, boards: list[dict[str, Any]], board: dict[str, Any], task: TaskSpec,
                  as_of: dt.date | None = None) -> Agreement:
    """Fit `task` on `held_out(boards, board)`, then compare the fitted abilities with `board`."""
    from vlmselect.quality import task_qualities

    q = task_qualities({**catalog.models, **catalog.apis}, held_out(boards, board), task, as_of)
    return compare(board, {i: x.theta for i, x in q.items()}, task.id)
