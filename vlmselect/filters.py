"""Why a model or an API is left out: each exclusion names its real reason and its kind.

Kinds (so an empty result can say which filter emptied it): as-of, capability, licence, runner,
artifact, hardware, context, images, memory, retired, cost.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, NamedTuple

from vlmselect.catalog import ApiSpec, ModelSpec
from vlmselect.hardware.types import HardwareProfile
from vlmselect.memory import MemoryEstimate, Workload, estimate_memory
from vlmselect.placement import _margin, place, quant_reasons, usable_ram, usable_vram, what_it_takes

if TYPE_CHECKING:
    from vlmselect.quant import Quant

# When each runner could first run a model family, for --as-of: a runner's support released after
# the date does not exist in that world. Each date is the runtime's own release note.
RUNNER_SUPPORT: dict[tuple[str, str], tuple[dt.date, str]] = {
    # llama.cpp PR #10361 "Add support for Qwen2VL" (opened 2024-11-17, merged in December 2024; bartowski's
    # Qwen2-VL GGUFs of 2024-12-14 were made "using llama.cpp release b4327"). llama-server itself took
    # Qwen2-VL images only with libmtmd (PR #13141, 2025-04-29); the date here is the model support.
    ("llama.cpp", "qwen2-vl"): (dt.date(2024, 12, 14), "https://github.com/ggml-org/llama.cpp/pull/10361"),
    # Ollama v0.4.0 (2024-11-06) brought Llama 3.2 Vision.
    ("ollama", "llama-3.2-vision"): (dt.date(2024, 11, 6), "https://github.com/ollama/ollama/releases/tag/v0.4.0"),
}


class Excluded(NamedTuple):
    id: str
    reason: str
    kind: str = "other"


def runner_available(m: ModelSpec, runner: str, as_of: dt.date | None) -> str | None:
    """None when `runner` could run `m` by `as_of`; else why not."""
    if as_of is None:
        return None
    hit = RUNNER_SUPPORT.get((runner, m.family))
    if hit and hit[0] > as_of:
        return f"{runner} supports {m.family} from {hit[0]} ({hit[1]}), after --as-of {as_of}"
    return None


def licence_reason(item: ModelSpec | ApiSpec, commercial: bool, include_unknown: bool) -> str | None:
    if not commercial or not isinstance(item, ModelSpec):
        return None
    if item.commercial is False:
        return f"licence {item.license} does not allow commercial use"
    if item.commercial is None and not include_unknown:
        return (f"licence {item.license}: commercial use not stated in the catalog"
                " (--include-unknown-licence keeps it)")
    return None


def images_reason(m: ModelSpec, w: Workload) -> str | None:
    limit = getattr(m, "max_images", None)
    if limit is not None and w.images > limit:
        what = "frames" if w.video else "images"
        return f"takes at most {limit} image(s) per request; the workload has {w.images} {what} (--images)"
    return None


def video_note(m: ModelSpec, w: Workload) -> str | None:
    """Video workloads on a model without its family's per-frame rule: frames are sized as still
    images, an upper bound, and said so."""
    if w.video and not m.image_tokens.get("video") and m.image_tokens["rule"] != "fixed":
        return "frames sized as still images (no per-frame video rule in the catalog): an upper bound"
    return None


def context_reason(m: ModelSpec, mem: MemoryEstimate, w: Workload) -> str | None:
    # Encoder-decoder OCR models (Nougat, Florence-2) take a task token, not a text context: their
    # decoder holds the answer only, which is what mem.context_tokens counts for them.
    if mem.context_tokens > m.context_max:
        imgs = mem.context_tokens - w.context - w.max_new_tokens
        return (f"needs {mem.context_tokens} tokens of context ({w.context} text + {max(imgs, 0)} image + "
                f"{w.max_new_tokens} new); the model takes at most {m.context_max}")
    return None


def no_fit(m: ModelSpec, hw: HardwareProfile, w: Workload, runners: list[str], as_of: dt.date | None,
           tried: dict[tuple[str, str], tuple[MemoryEstimate, bool]] | None = None) -> Excluded:
    """Why no (runner, quant) of `m` runs here: the first real reason, memory last. `tried`: what
    the caller already estimated, {(runner, quant id): (estimate, placed)}."""
    if not runners:
        return Excluded(m.id, "no runner artifact in the catalog", "artifact")
    blocked: list[str] = []
    kinds: set[str] = set()
    smallest: MemoryEstimate | None = None
    smallest_q = None
    for runner in runners:
        why = runner_available(m, runner, as_of)
        if why:
            blocked.append(why)
            kinds.add("as-of")
            continue
        reasons = quant_reasons(m, runner, hw)
        for q, why in reasons:
            if why is not None:
                continue
            if tried and (runner, q.id) in tried:
                mem, placed = tried[runner, q.id]
            else:
                mem = estimate_memory(m, q, runner, w, explain=False)
                placed = place(m, q, runner, hw, w, mem, explain=False) is not None
            ctx = context_reason(m, mem, w)
            if ctx:
                blocked.append(ctx)
                kinds.add("context")
                continue
            if not placed and (smallest is None or mem.total_gib < smallest.total_gib):
                smallest, smallest_q = mem, q
        if not any(why is None for _, why in reasons):
            whys = sorted({why for _, why in reasons if why})
            hard = [r for r in whys if not r.startswith("no ")]
            blocked.append(f"{runner}: " + "; ".join((hard or whys)[:2]))
            kinds.add("hardware" if hard else "artifact")
    if smallest is not None:
        return Excluded(m.id, memory_reason(smallest, hw, m, smallest_q, w), "memory")
    kind = next((k for k in ("as-of", "context", "hardware", "artifact") if k in kinds), "other")
    return Excluded(m.id, "; ".join(dict.fromkeys(blocked)) or "cannot run here", kind)


def memory_reason(mem: MemoryEstimate, hw: HardwareProfile, m: ModelSpec | None = None, q: Quant | None = None,
                  w: Workload | None = None) -> str:
    """The smallest option's need against each GPU's own free memory (or RAM), and the context that
    would fit the roomiest GPU when a shorter one would."""
    gpus = hw.usable_gpus
    head = f"needs {mem.total_gib:.1f} GiB at {mem.quant} ({mem.runner})"
    if not gpus:
        return f"{head}; {max(usable_ram(hw), 0):.1f} GiB RAM usable"
    free = [usable_vram(g) for g in gpus]
    best = max(free)
    where = (f"{best:.1f} GiB usable on this GPU" if len(gpus) == 1 else
             f"{len(gpus)} GPUs with " + ", ".join(f"{f:.1f}" for f in free) + " GiB usable, which together"
             " do not hold it with each GPU's own fixed costs")
    shorter = ""
    if m is not None and q is not None and w is not None:
        from vlmselect.fits import context_up_to

        ctx = context_up_to(m, q, mem.runner, w, best / (1 + _margin(mem.runner)))
        if ctx:
            shorter = f"; it fits this GPU with context up to {ctx:,} tokens"
    return f"{head}; {where} ({what_it_takes(mem, best)}){shorter}"


def retired_reason(api: ApiSpec, apis: dict[str, ApiSpec], on: dt.date) -> str:
    """'retired on D; successor: X', following the successor chain past successors that are retired too, so a
    retired API is never the suggested way out (Claude 3.5 Sonnet's successor, Sonnet 4.5, retired 2026-11-30)."""
    text = f"retired on {api.retired}"
    seen, nxt = {api.id}, api.successor
    while nxt and nxt in apis and nxt not in seen and apis[nxt].status(on) == "retired":
        text += f"; successor {nxt} retired on {apis[nxt].retired} too"
        seen.add(nxt)
        nxt = apis[nxt].successor
    if nxt and nxt not in seen:
        text += f"; successor: {nxt}"
    return text
