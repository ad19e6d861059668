"""`estimate --sweep`: one estimate per value of a workload dimension (context, images, resolution).

Every row is `estimate`'s own result at that value (catalog_views.estimate_one, with the quant and
runner that `estimate` chose for the user's workload held fixed), so the fit verdict of a row is
exactly what `vlmselect estimate --quant Q --runner R --<dim> VALUE` says.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from vlmselect.errors import UsageError
from vlmselect.memory import Workload

if TYPE_CHECKING:
    from vlmselect.catalog import Catalog, ModelSpec
    from vlmselect.hardware.types import HardwareProfile

DIMS = ("context", "images", "resolution")
MAX_POINTS = 40  # rows of the picture; more is no longer readable
LINEAR_MAX_STEPS = 24  # a range with at most this many unit (or 256-px) steps is walked linearly
RES_STEP = 256


class Sweep(NamedTuple):
    dim: str
    values: list[int]


def _default(dim: str, context_max: int) -> list[int]:
    if dim == "context":
        lo = 1024 if context_max >= 2048 else 256
        return _doubling(lo, context_max)
    if dim == "images":
        return [1, 2, 4, 8, 16, 32]
    return [256, 512, 768, 1024, 1536, 2048, 3072, 4096]


def _doubling(lo: int, hi: int, factor: float = 2.0) -> list[int]:
    out: list[int] = []
    v = float(lo)
    while v < hi and len(out) < MAX_POINTS - 1:
        out.append(int(round(v)))
        v *= factor
    out.append(hi)
    return sorted(set(out))


def _hint(dim: str) -> str:
    ex = {"context": "context=1024:131072", "images": "images=1:16", "resolution": "resolution=512:4096"}[dim]
    return f"--sweep {dim} (default range) or --sweep {ex} (LOW:HIGH[:STEP], STEP an integer or x2)"


def parse_sweep(text: str, context_max: int) -> Sweep:
    """'context' | 'images' | 'resolution', optionally '=LOW:HIGH[:STEP]' (STEP: +N, N or xF)."""
    m = re.fullmatch(r"\s*([a-z]+)\s*(?:=\s*(\d+)\s*:\s*(\d+)\s*(?::\s*(x?)(\d+(?:\.\d+)?)\s*)?)?", text.lower())
    if not m or m.group(1) not in DIMS:
        name = m.group(1) if m else text
        from vlmselect.errors import closest

        near = closest(name, DIMS)
        raise UsageError(f"--sweep takes context, images or resolution, got {text!r}",
                         (f"did you mean {near[0]}? " if near else "") + _hint("context"))
    dim = m.group(1)
    if m.group(2) is None:
        return Sweep(dim, _default(dim, context_max))
    lo, hi = int(m.group(2)), int(m.group(3))
    least = 0 if dim == "images" else 1
    if lo < least or hi <= lo:
        raise UsageError(f"--sweep {dim}: LOW must be at least {least} and below HIGH, got {lo}:{hi}", _hint(dim))
    if dim == "resolution" and hi > 32768:
        raise UsageError(f"--sweep resolution: {hi} px is larger than any model takes", "use at most 32768")
    if m.group(5) is not None:
        step = float(m.group(5))
        if m.group(4):  # geometric
            if step <= 1:
                raise UsageError(f"--sweep {dim}: a factor must be above 1, got x{m.group(5)}", _hint(dim))
            values = _doubling(lo, hi, step)
        else:
            if step < 1 or step != int(step):
                raise UsageError(f"--sweep {dim}: a step must be a whole number of at least 1", _hint(dim))
            values = list(range(lo, hi, int(step))) + [hi]
    else:
        unit = RES_STEP if dim == "resolution" else 1
        if dim != "context" and (hi - lo) / unit <= LINEAR_MAX_STEPS:
            values = sorted(set(list(range(lo, hi, unit)) + [hi]))
        else:
            values = _doubling(max(lo, 1), hi)
            if lo == 0:
                values = [0, *values]
    if len(values) > MAX_POINTS:
        raise UsageError(f"--sweep {dim}: {len(values)} points is more than {MAX_POINTS}", "take a larger step, e.g. :x2")
    return Sweep(dim, values)


def workload_at(w: Workload, dim: str, v: int) -> Workload:
    if dim == "context":
        return w._replace(context=v)
    if dim == "images":
        return w._replace(images=v)
    # resolution: v is the long side; the user's aspect ratio is kept
    s = v / max(w.width, w.height)
    return w._replace(width=max(1, round(w.width * s)), height=max(1, round(w.height * s)))


def label(w: Workload, dim: str, v: int) -> str:
    if dim == "resolution":
        x = workload_at(w, dim, v)
        return f"{x.width}x{x.height}"
    return str(v)


ROW_KEYS = ("quant", "runner", "context", "images", "image_tokens", "total_gib", "parts_gib", "kv_image_gib", "mode",
            "fits", "unplaced", "gpus_used", "usable_gib", "gpu_share", "tokens_per_s", "seconds_per_image", "headroom_gib")


def run_sweep(cat: Catalog, m: ModelSpec, quant: str | None, runner: str | None, w: Workload, hw: HardwareProfile,
              sweep: Sweep) -> dict[str, Any]:
    """The base estimate (the user's workload) fixes quant and runner; one estimate per value."""
    from vlmselect.catalog_views import estimate_one

    base = estimate_one(cat, m, quant, runner, w, hw)
    rows = []
    for v in sweep.values:
        wv = workload_at(w, sweep.dim, v)
        d = estimate_one(cat, m, base["quant"], base["runner"], wv, hw)
        row = {"value": v, "label": label(w, sweep.dim, v), **{k: d.get(k) for k in ROW_KEYS}}
        if sweep.dim == "resolution":
            row["resolution"] = row["label"]
        rows.append(row)
    return {"id": m.id, "quant": base["quant"], "runner": base["runner"], "sweep": sweep.dim,
            "workload": {"context": w.context, "images": w.images, "resolution": f"{w.width}x{w.height}",
                         "max_new_tokens": w.max_new_tokens},
            "hardware": base["hardware"], "rows": rows, "boundary": boundary(rows)}


def boundary(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last value that fits before the first that does not (rows in sweep order)."""
    for prev, row in zip(rows, rows[1:]):
        if prev["fits"] and not row["fits"]:
            return {"last_fit": prev["value"], "first_no_fit": row["value"], "then": row["mode"] or "none"}
    return None
