"""What each --priority means, and the words that explain a pick's quality.

- quality:  the lower end of the quality interval (vlmselect.quality), after the quantization's
            loss; picks whose bounds lie within TIE of each other are a statistical tie, and
            only inside a tie does the faster one go first. Free VRAM earns nothing.
- speed:    seconds per image (estimated, or measured by `vlmselect smoke`), fastest first.
- cost:     APIs: $ per image. Local: GPU-seconds per image (seconds x GPUs used; CPU
            seconds for CPU placements), the hardware time one image costs.
- balanced: local: quality bound - BALANCE x log10(seconds per image); APIs: quality bound -
            BALANCE_COST x log10($ per image x 1000): ten times slower (dearer) must buy that much
            more quality. docs/ranking.md gives the reasoning.

Offloaded and CPU placements are not marked down by a factor: their estimated seconds per
image already carry the cost of running from RAM.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from _typeshed import SupportsRichComparison

    from vlmselect.quality import Quality
    from vlmselect.quant import Quant
    from vlmselect.recommend import ApiPick, LocalPick

    Pick = TypeVar("Pick", LocalPick, ApiPick)

TIE = 0.02  # quality-bound gap treated as a statistical tie (the bounds' own rounding is 0.01)
BALANCE = 0.15  # quality-bound points per tenfold time per image in `balanced` (local)
BALANCE_COST = 0.1  # quality-bound points per tenfold $ per image in `balanced` (APIs)


def _secs(p: LocalPick) -> float:
    return max(p.speed.seconds_per_image, 1e-3)


def local_key(p: LocalPick, priority: str) -> float:
    """Higher is better; used to choose one placement per model and to order models."""
    low = p.quality_low
    if priority == "quality":
        return low - 1e-6 * math.log10(_secs(p))  # speed only breaks exact ties here; `order` does the rest
    if priority == "speed":
        return -_secs(p) + 1e-6 * low
    if priority == "cost":
        return -_secs(p) * max(p.gpus_used, 1) + 1e-6 * low
    return low - BALANCE * math.log10(_secs(p))


def api_key(p: ApiPick, priority: str) -> float:
    usd = max(p.cost.usd, 1e-7)
    if priority == "quality":
        return p.quality_low
    if priority == "speed":
        return p.quality_low  # no speed model for hosted APIs: quality orders them
    if priority == "cost":
        return -usd + 1e-9 * p.quality_low
    return p.quality_low - BALANCE_COST * math.log10(usd * 1000)


def order(picks: list[Pick], priority: str, key: Callable[[Pick, str], float],
          tie_break: Callable[[Pick], SupportsRichComparison]) -> list[Pick]:
    """Sorted by `key`; under `quality`, runs of picks whose bounds are within TIE of the run's
    first are re-ordered by `tie_break` (faster / cheaper first) and marked `tie=True`."""
    ranked = sorted(picks, key=lambda p: key(p, priority), reverse=True)
    if priority != "quality":
        return ranked
    out: list[Pick] = []
    i = 0
    while i < len(ranked):
        j = i + 1
        while j < len(ranked) and ranked[i].quality_low - ranked[j].quality_low < TIE:
            j += 1
        group = sorted(ranked[i:j], key=tie_break)
        out += [g._replace(tie=j - i > 1) for g in group]
        i = j
    return out


def quant_note(q: Quant) -> str:
    """The quality cost of a quantization as the ranking applies it, with the published study
    it comes from (for --explain); "" for a lossless format."""
    from vlmselect.quant_quality import factor

    if q.quality >= 1.0:
        return ""
    f = factor(q.id)
    return f"{q.id}: quality x{q.quality:g}, {f.basis} <{f.source}>"


def quant_why(q: Quant) -> str:
    """The same, short, for `why`: `q4_k_m: quality x0.994 (llama.cpp LLaMA-3-8B scoreboard)`."""
    from vlmselect.quant_quality import factor

    if q.quality >= 1.0:
        return ""
    return f"{q.id}: quality x{q.quality:g} ({factor(q.id).short})"


def explain_lines(q: Quality, quant: Quant | None = None) -> list[str]:
    """The quality breakdown `--explain` prints for one pick."""
    # The figures `why`'s table and --json carry: after the quantization's loss, then what it was before.
    f = quant.quality if quant is not None and quant.quality < 1.0 else 1.0
    # f < 1.0 only with a quant
    after = f" after {cast('Quant', quant).id} x{f:g} (16-bit: {q.estimate:.2f}, {q.low:.2f}-{q.high:.2f})" if f < 1.0 else ""
    lines = [f"{q.estimate * f:.2f} (80 % interval {q.low * f:.2f}-{q.high * f:.2f}; P(beats the task's median "
             f"evidenced model)){after}; prior from family/size/kind/generation {q.prior:.2f}; evidence, strongest first:"]
    if not q.evidence:
        lines.append("no evidence for this task: the prior alone")
    for e in q.evidence:
        lines.append(f"{e.label()}  <{e.source}>")
    if quant is not None and quant_note(quant):
        lines.append(quant_note(quant))
    return lines
