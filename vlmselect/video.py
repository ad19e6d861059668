"""Video without native video input: how many frames to sample, and at what size, so that the
request stays within the model's context and, locally, within this machine's memory (the same
placement verdict `estimate` gives). Pure."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from vlmselect.catalog import ApiSpec, ModelSpec
from vlmselect.imageadvice import api_limit, local_limit
from vlmselect.imagetokens import api_image_tokens
from vlmselect.memory import Workload, estimate_memory

if TYPE_CHECKING:
    from vlmselect.hardware.types import HardwareProfile
    from vlmselect.quant import Quant

MAX_FRAMES = 64  # past this a clip is better summarized in chapters than in one request


class FramePlan(NamedTuple):
    frames: int
    width: int
    height: int
    tokens_per_frame: int
    why: str


def frame_size(item: ModelSpec | ApiSpec, w: Workload, runner: str | None) -> tuple[int, int, str]:
    """A frame's size: the model's own per-frame budget where the catalog has one, else one tile
    (or base image) of its rule, else its largest useful size; never above --resolution."""
    r = item.image_tokens
    if isinstance(item, ModelSpec):
        video = r.get("video") or {}
        if r["rule"] == "qwen2-vl" and video.get("max_tokens"):
            p = int(r.get("pixels_per_token", 28))
            px, why = int(video["max_tokens"]) * p * p, f"{video['max_tokens']} tokens per frame, the model's video cap"
        elif r["rule"] == "tiles":
            px, why = int(r.get("tile", 448)) ** 2, "one tile per frame"
        elif r["rule"] == "anyres":
            px, why = int(r.get("tile", 336)) ** 2, "the base image, no extra tiles"
        else:
            useful, why = local_limit(item, w.width, w.height, runner)
            px = useful[0] * useful[1] if useful else w.width * w.height
    else:
        useful, why = api_limit(item, w.width, w.height)
        px = useful[0] * useful[1] if useful else w.width * w.height
    s = min(1.0, math.sqrt(px / (w.width * w.height)))
    return max(1, int(w.width * s)), max(1, int(w.height * s)), why


def plan_frames(item: ModelSpec | ApiSpec, w: Workload, runner: str | None = None, quant: Quant | None = None,
                hw: HardwareProfile | None = None) -> FramePlan:
    """The most frames (up to --images, MAX_FRAMES and the model's max_images) that fit."""
    fw, fh, why = frame_size(item, w, runner)
    want = max(1, min(w.images, MAX_FRAMES))
    if isinstance(item, ApiSpec):
        per = api_image_tokens(item.image_tokens, fw, fh)
        room = (item.context_max or per * want) - w.context - w.max_new_tokens
        n = max(1, min(want, room // max(per, 1)))
        return FramePlan(n, fw, fh, per, f"{why}; {n} x {per} tokens within the context")
    m: ModelSpec = item
    if runner is None or quant is None:  # a caller's bug: a local model's memory depends on both
        raise ValueError(f"plan_frames({m.id}): a local model needs its runner and quant")
    rnr: str = runner
    q: Quant = quant
    cap = min(want, getattr(m, "max_images", None) or want)

    def ok(n: int) -> bool:
        wl = w._replace(images=n, width=fw, height=fh, video=True)
        mem = estimate_memory(m, q, rnr, wl)
        if mem.context_tokens > m.context_max:
            return False
        if hw is None:
            return True
        from vlmselect.placement import place

        p = place(m, q, rnr, hw, wl)
        return p is not None and (p.fits or not hw.usable_gpus)

    from vlmselect.fits import largest

    found = largest(1, cap, ok)  # memory and context grow with n
    n = found or 1
    per = estimate_memory(m, q, rnr, w._replace(images=1, width=fw, height=fh, video=True)).image_tokens
    where = "this GPU" if hw is not None and hw.usable_gpus else "memory"
    if found is None:
        return FramePlan(1, fw, fh, per, f"{why}; even one frame does not fit {where}: see `vlmselect estimate`")
    limit = f" of the {want} asked for fit" if n == cap else f" (more would not fit {where} or the {m.context_max}-token context)"
    return FramePlan(n, fw, fh, per, f"{why}; {n} frames{limit}")
