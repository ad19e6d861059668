"""What fits: the largest context, number of images and image size a model can take in a budget.

`fits_up_to` holds two of (context, images, resolution) at the workload's values and searches the
third, so each answer reads "with everything else as asked". Memory grows with each of the
three, so a binary search over the one estimator finds the edge. Pure: any command can call it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from vlmselect.catalog import ModelSpec
from vlmselect.memory import Workload, estimate_memory
from vlmselect.quant import Quant

if TYPE_CHECKING:
    from vlmselect.hardware.types import GpuInfo

MAX_IMAGES = 256  # the search stops here: more is "unbounded" for any model the catalog has
MIN_SIDE, MAX_SIDE = 224, 8192  # px; images below 224 px say little, above 8192 no model keeps


class FitsUpTo(NamedTuple):
    context: int  # text tokens (0: not even one token fits with these images)
    images: int  # images at the requested resolution (MAX_IMAGES: at least that many)
    resolution: str | None  # largest WxH with the requested aspect ratio (None: not even MIN_SIDE)
    budget_gib: float

    def to_json(self) -> dict[str, Any]:
        return {"context": self.context, "images": self.images, "resolution": self.resolution,
                "budget_gib": round(self.budget_gib, 2)}

    def describe(self) -> str:
        if not self.context and not self.images and not self.resolution:
            return f"nothing fits within {self.budget_gib:.1f} GiB: the weights alone are too large"
        parts = [f"context up to {self.context:,} tokens" if self.context else "no context with these images"]
        parts.append(f"up to {self.images}{'+' if self.images >= MAX_IMAGES else ''} image(s)")
        parts.append(f"images up to {self.resolution}" if self.resolution else "no image size")
        return "it fits " + ", ".join(parts) + f" (each with the rest as asked) within {self.budget_gib:.1f} GiB"


def largest(lo: int, hi: int, ok: Callable[[int], bool]) -> int | None:
    """Largest x in [lo, hi] with ok(x), for ok monotone (true then false); None if ok(lo) fails."""
    if not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def gpu_budget_gib(g: GpuInfo, runner: str) -> float:
    """What one GPU offers a model on `runner` under the fit rule: usable memory less placement's
    margin for that runner (smaller on transformers, whose estimate already counts allocator slack)."""
    from vlmselect.placement import fit_margin, usable_vram

    return usable_vram(g) / (1 + fit_margin(runner))


def context_up_to(m: ModelSpec, q: Quant, runner: str, w: Workload, budget_gib: float) -> int:
    """The largest context (text tokens, with the workload's images) within `budget_gib`; 0 when
    not even one token fits."""
    def fits(c: int) -> bool:
        return estimate_memory(m, q, runner, w._replace(context=c), explain=False).total_gib <= budget_gib

    return largest(1, max(m.context_max or 0, w.context, 1), fits) or 0


def fits_up_to(m: ModelSpec, q: Quant, runner: str, w: Workload, budget_gib: float) -> FitsUpTo:
    """The largest context, number of images and resolution that keep the estimate within `budget_gib`
    (the memory a placement may use, after any margin the fit rule keeps)."""

    def fits(wl: Workload) -> bool:
        return estimate_memory(m, q, runner, wl, explain=False).total_gib <= budget_gib

    ctx = context_up_to(m, q, runner, w, budget_gib)
    imgs = largest(0, MAX_IMAGES, lambda n: fits(w._replace(images=n))) or 0
    aspect = w.height / w.width if w.width else 1.0
    images = max(w.images, 1)

    def at(side: int) -> Workload:
        width = side if aspect <= 1 else max(int(side / aspect), 1)
        return w._replace(images=images, width=width, height=max(int(width * aspect), 1))

    side = largest(MIN_SIDE, MAX_SIDE, lambda s: fits(at(s)))
    res = None
    if side is not None:
        best = at(side)
        res = f"{best.width}x{best.height}"
    return FitsUpTo(ctx, imgs, res, budget_gib)
