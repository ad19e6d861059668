"""The quality ranking against the chart and general-multimodal boards it did not see (issue 9, items 2 and 6).

Each board is a frozen copy in tests/data/independent_boards.yaml with its source: the CharXiv authors' own
reasoning runs (charxiv.github.io, 2025-04), TIGER-Lab's MEGA-Bench overall scores (2024-12) and the Ref-Adv
authors' grounding runs (ref-adv.github.io, 2026-02; Acc@0.5 on Ref-Adv-s) and the Video-MME team's Video-MME-v2
table (2026-04; Non-Lin Score without subtitles) and the MDPBench authors' document-parsing runs (2026-04).
The fit is
made without the board (vlmselect.agreement.leave_one_out); chance is 0.5.
Measured on this catalog (benchmarks/ranking_agreement.py, 2026-11-30, after merging the pooled-benchmark
quality model): CharXiv 0.87 of 190 pairs for charts (0.83 for reasoning); MEGA-Bench 0.89 of 45 for general;
Ref-Adv-s direct runs 0.89 of 45 for grounding (thinking runs 0.94 of 36); Video-MME-v2 Instruct rows 0.80 of
15 for video (commercial + Thinking rows 0.71 of 21, not asserted); MDPBench 0.66 of 119 for ocr.
Thresholds sit below the measurements and above chance: with n pairs the sd of chance agreement is about
0.5 / sqrt(n) (0.036 at 190, 0.075 at 45, 0.046 at 119, 0.13 at 15: the video check is a weak guard).
"""

from __future__ import annotations


import pytest

from vlmselect import quality as Q
from vlmselect.agreement import leave_one_out



@pytest.mark.parametrize(("board", "task", "pairs", "least"), [
    ("charxiv-reasoning-princeton-2025-04", "charts", 190, 0.75),
    ("megabench-tiger-2024-12", "general", 45, 0.75),
    ("refadv-s-direct-neu-2026-02", "grounding", 45, 0.75),
    ("videomme-v2-instruct-videomme-2026-04", "video", 15, 0.65),
    ("mdpbench-hust-2026-04", "ocr", 119, 0.60),  # 16 models, one tie (68.3)
])
def test_held_out_board_agrees_with_the_fit(catalog, boards, frozen, board, task, pairs, least):
    a = leave_one_out(catalog, boards, next(b for b in frozen if b["id"] == board), catalog.tasks[task])
    assert a.pairs == pairs, a  # every catalog pair the board orders (no ties on these boards)
    assert a.share >= least, a


def test_rows_a_board_did_not_run_are_not_evidence(catalog, boards):
    # CharXiv prints InternVL3 8B (37.6) only as a number its makers sent in (no per-category breakdown):
    # it sits under `vendor_supplied` and must not reach the fit as the board's run.
    cx = next(b for b in boards if b["id"] == "charxiv-reasoning-princeton-2025-04")
    assert "InternVL3 8B" in cx["vendor_supplied"] and "internvl3-8b" not in cx["scores"]
    ev = Q.gather({**catalog.models, **catalog.apis}, boards, catalog.tasks["charts"])
    assert not [e for e, _ in ev["internvl3-8b"] if e.board == cx["id"]]
    # whereas an author-run row is evidence, marked independent
    (run,) = [e for e, _ in ev["qwen2-vl-72b"] if e.board == cx["id"]]
    assert run.independent and run.score == cx["scores"]["qwen2-vl-72b"]


def test_every_board_names_its_source_date_and_harness(boards):
    for b in boards:
        assert b["source"].startswith("https://") and b["harness"] and b["by"], b["id"]
        assert len(b["date"]) == 10 and b["date"][:2] == "20", b["id"]
        assert b["scores"], b["id"]


def test_a_thinking_board_is_evidence_in_thinking_mode(catalog, boards):
    # Ref-Adv-s prints Qwen3-VL-8B-Thinking only with chain of thought: its board says `mode: thinking`, and the
    # evidence carries that mode (weighted like any thinking run, and named so in `why`).
    ev = Q.gather({**catalog.models, **catalog.apis}, boards, catalog.tasks["grounding"])
    (run,) = [e for e, _ in ev["qwen3-vl-8b-thinking"] if e.board == "refadv-s-reasoning-neu-2026-02"]
    assert run.mode == "thinking" and "thinking mode" in run.label()
    (plain,) = [e for e, _ in ev["qwen3-vl-8b"] if e.board == "refadv-s-direct-neu-2026-02"]
    assert plain.mode == "plain"
    bad = [dict(b, mode="sleepy") for b in boards[:1]]
    assert any("mode must be one of" in p for p in Q.validate_boards(bad))
