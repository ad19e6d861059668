"""Rich tables and JSON for every command. Shapes follow design.md; no decisions are made here.

rich is imported only where a table is drawn: the --json path stays as light as typer itself.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from typing import TextIO

    from rich.console import Console

    from vlmselect.catalog import TaskSpec
    from vlmselect.hardware.types import HardwareProfile
    from vlmselect.memory import Workload
    from vlmselect.placement import Placement
    from vlmselect.quant import Quant
    from vlmselect.recommend import ApiPick, LocalPick, Recommendation, Request
    from vlmselect.speed import SpeedEstimate


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    width = _tty_width(stream) if tty else _columns()
    # emoji=False: catalog text is printed as written (":smile:" stays text), and rich's emoji
    # table (~13 ms to import) is never loaded.
    return Console(file=stream, width=width, no_color=not tty or "NO_COLOR" in os.environ,
                   highlight=False, soft_wrap=not tty, emoji=False)


def _tty_width(stream: TextIO) -> int | None:
    """None on a terminal (rich takes COLUMNS, else asks the terminal), unless COLUMNS is a number
    that is no width (0, or 100000 and more): rich would take it as written, and COLUMNS=0 printed
    nothing at all. The terminal's own width then."""
    raw = os.environ.get("COLUMNS", "").strip()
    if not raw.isdigit() or 0 < int(raw) < 100_000:  # rich ignores what is not digits itself
        return None
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80


def _columns() -> int:
    """COLUMNS when it is a width (a positive number), else 160: the variable is the user's to set."""
    raw = os.environ.get("COLUMNS", "").strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 160


def _json_plain(v: object) -> object:
    """NaN and infinities are not JSON (RFC 8259; strict readers refuse them): they print as null."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _json_plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_plain(x) for x in v]
    return v


def print_json(data: object) -> None:
    try:  # nearly always: nothing to replace, so no second walk over the data
        text = json.dumps(data, indent=2, default=str, allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere
        text = json.dumps(_json_plain(data), indent=2, default=str, allow_nan=False)
    sys.stdout.write(text + "\n")


def r2(v: float | None, nd: int = 2) -> float | None:
    return None if v is None else round(v, nd)


# ---------------------------------------------------------------- recommend


def quality_json(p: LocalPick | ApiPick) -> dict[str, Any]:
    """Quality, its 80 % interval and the evidence behind it (after the quantization's loss, for local picks)."""
    q = p.q
    ev = [] if q is None else [
        {"label": e.label(), "benchmark": e.benchmark, "score": e.score, "by": "independent" if e.independent else "vendor",
         "run_by": e.by or None, "mode": e.mode, "date": e.date, "board": e.board or None, "source": e.source,
         "compared": not e.use}  # false: shown for provenance, moved nothing (a duplicate row, or alone in its pool)
        for e in q.evidence]
    pen = getattr(p, "penalty", 0.0)  # a deprecated API ranks below its bound; the interval is the fit's
    return {"quality": r2(p.quality, 3), "quality_interval": [r2(p.quality_low + pen, 3), r2(p.quality_high, 3)],
            "rank_penalty": pen,
            "quality_basis": q.basis if q else None, "quality_prior": r2(q.prior, 3) if q else None,
            "tie": p.tie, "evidence": ev}


def local_json(p: LocalPick) -> dict[str, Any]:
    return {
        "id": p.model.id, "name": p.model.name, "quant": p.quant.id, "runner": p.runner, "mode": p.mode,
        "gpus_used": p.gpus_used, "vram_gib": r2(p.mem.total_gib, 1), "fits": p.fits,
        "headroom_gib": r2(p.headroom_gib, 1), "tokens_per_s": _tps(p.speed),
        "seconds_per_image": _spi(p.speed), "speed_basis": p.speed.basis, "score": r2(p.score, 3),
        **quality_json(p), "released": str(p.model.released), "license": p.model.license,
        "why": p.why, "command": p.command, "warnings": list(p.warnings),
        "next_steps": p.steps.lines if p.steps else [p.command],
        "notes": list(p.steps.notes) if p.steps else [],
        "image_tokens": p.mem.image_tokens, "parts_gib": p.mem.parts(),
        "placement": placement_json(p.placement),
    }


def _tps(speed: SpeedEstimate) -> float | None:
    from vlmselect.placement import speed_known

    return r2(speed.tokens_per_s, 1) if speed_known(speed) else None


def _spi(speed: SpeedEstimate) -> float | None:
    from vlmselect.placement import speed_known

    return r2(speed.seconds_per_image, 1) if speed_known(speed) else None


def unit(w: Workload) -> str:
    """What the per-item figures are per: a video's frames, images, or the whole request."""
    return "request" if w.images == 0 else ("frame" if w.video else "image")


def placement_json(pl: Placement) -> dict[str, Any]:
    return {"mode": pl.mode, "gpu_indices": list(pl.gpu_indices),
            "gpu_need_gib": [r2(x) for x in pl.gpu_need_gib], "gpu_usable_gib": [r2(x) for x in pl.gpu_usable_gib],
            "gpu_share": r2(pl.gpu_share, 3), "ram_gib": r2(pl.ram_gib)}


def memory_cell(p: LocalPick) -> str:
    """The memory column in the frame of the placement: per GPU for splits, RAM for the CPU."""
    pl = p.placement
    if pl.mode == "cpu":
        return f"RAM {p.mem.total_gib:.1f} / {pl.usable_gib or 0:.1f} GiB"
    if pl.mode == "multi-gpu":
        need, have = pl.gpu_need_gib, pl.gpu_usable_gib
        if max(need) - min(need) < 0.05 and max(have) - min(have) < 0.05:
            return f"{need[0]:.1f} / {have[0]:.1f} GiB per GPU x{len(need)}"
        return " + ".join(f"{n:.1f}/{h:.1f}" for n, h in zip(need, have)) + " GiB"
    if pl.mode == "offload":
        return f"{p.mem.total_gib:.1f} GiB: {pl.usable_gib:.1f} VRAM + {pl.ram_gib or 0:.1f} RAM"
    avail = f"{p.usable_gib:.1f}" if p.usable_gib is not None else "?"
    return f"{p.mem.total_gib:.1f} / {avail} GiB"


def api_json(p: ApiPick, req: Request | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if req is not None:
        from vlmselect.snippet_cli import api_next_step

        # (cast: a recommendation is made for a task: `recommend` requires --task, and so do these renderers)
        extra["next_step"] = api_next_step(p.api, cast("TaskSpec", req.task), req.workload)
    return {**extra,
        "id": p.api.id, "name": p.api.name, "provider": p.api.provider,
        "cost_per_image_usd": round(p.cost.usd, 6), "cost_per": p.cost.per, "status": p.status, "score": r2(p.score, 3),
        **quality_json(p), "image_tokens": p.cost.image_tokens, "why": p.why,
        "price_as_of": str(p.api.price_as_of) if p.api.price_as_of else None,
    }


def recommendation_json(rec: Recommendation) -> dict[str, Any]:
    req = rec.request
    return {
        "task": cast("TaskSpec", req.task).id, "priority": req.priority, "as_of": str(req.as_of) if req.as_of else None,
        "workload": {"context": req.workload.context, "images": req.workload.images, "video": req.workload.video,
                     "per": unit(req.workload),
                     "resolution": f"{req.workload.width}x{req.workload.height}",
                     "max_new_tokens": req.workload.max_new_tokens},
        "hardware": rec.hardware.to_json(),
        "local": [local_json(p) for p in rec.local],
        "api": [api_json(p, req) for p in rec.api],
        "excluded": [{"id": e.id, "reason": e.reason} for e in rec.excluded],
        "notes": rec.notes,
    }


def hardware_line(hw: HardwareProfile) -> str:
    if not hw.gpus:
        ram = f"{hw.ram_total_gib:.0f} GiB RAM" if hw.ram_total_gib else "RAM unknown"
        return f"Hardware ({hw.source}): no GPU, {ram}"
    parts = []
    for g in hw.gpus:
        free = f"{g.vram_free_gib:.1f} free / " if g.vram_free_gib is not None else ""
        total = f"{g.vram_total_gib:.1f} GiB" if g.vram_total_gib else "memory unknown"
        parts.append(f"{g.name} ({free}{total})" + ("" if g.status == "ok" else f" [{g.status}]"))
    return f"Hardware ({hw.source}): " + ", ".join(parts)


def print_recommendation(rec: Recommendation, explain: bool, c: Console | None = None) -> None:
    from rich.markup import escape
    from rich.table import Table

    c = c or console()
    req = rec.request
    task = cast("TaskSpec", req.task)  # `recommend` requires --task
    c.print(f"[bold]Task:[/bold] {task.name} ({task.id}) · priority {req.priority}"
            + (f" · as of {req.as_of}" if req.as_of else ""))
    c.print(escape(hardware_line(rec.hardware)))
    for n in rec.hardware.notes:
        c.print(f"  {escape(n)}")
    w = req.workload
    c.print(f"Workload: {w.context} text tokens, {w.images} {'frame' if w.video else 'image'}(s) at {w.width}x{w.height},"
            f" {w.max_new_tokens} new tokens" + ("; s/frame and $/frame are per video frame" if w.video else ""))
    if req.local:
        t = Table(title="Local models", show_lines=False)
        for col in ("#", "model", "quant", "runner", "mode", "memory est / avail", "tok/s", f"s/{unit(w)}", "why"):
            t.add_column(col, overflow="fold")
        for i, p in enumerate(rec.local, 1):
            where = p.mode + (f" x{p.gpus_used}" if p.gpus_used > 1 else "")
            if p.placement.subset:
                where += f" (GPU {','.join(str(i) for i in p.placement.gpu_indices)})"
            t.add_row(str(i), escape(p.model.name), p.quant.id, p.runner, where,
                      memory_cell(p), "?" if _tps(p.speed) is None else f"{p.speed.tokens_per_s:.0f}",
                      "?" if _spi(p.speed) is None else f"{p.speed.seconds_per_image:.1f}", escape(p.why + "".join(f" ⚠ {x}" for x in p.warnings)))
        if rec.local:
            c.print(t)
        else:
            why = next((n for n in rec.notes if n.startswith("no local model: ")), "")
            c.print(f"[yellow]No local model[/yellow]: {escape(why[len('no local model: '):])}")
    if req.api:
        t = Table(title="Hosted APIs")
        for col in ("#", "model", "provider", f"$/{unit(w)}", "status", "why"):
            t.add_column(col, overflow="fold")
        for i, a in enumerate(rec.api, 1):  # `a`: an ApiPick (`p` above is a LocalPick, for mypy)
            t.add_row(str(i), escape(a.api.name), a.api.provider, f"{a.cost.usd:.4f}", a.status, escape(a.why))
        if rec.api:
            c.print(t)
        else:
            why = next((n for n in rec.notes if n.startswith("no hosted API: ")), "")
            c.print(f"[yellow]No hosted API[/yellow]: {escape(why[len('no hosted API: '):])}")
    for n in rec.notes:
        if not n.startswith(("no local model: ", "no hosted API: ")):
            c.print(f"Note: {escape(n)}")
    if rec.local:
        top = rec.local[0]
        lines = top.steps.lines if top.steps else [top.command]
        c.print(f"[bold]Next step:[/bold] {escape(lines[0])}")
        for line in lines[1:]:
            c.print(f"  then: {escape(line)}")
        for n in (top.steps.notes if top.steps else ()):
            c.print(f"  note: {escape(n)}")
    if rec.api:
        from vlmselect.snippet_cli import api_next_step

        step = api_next_step(rec.api[0].api, task, req.workload)
        c.print(f"[bold]Next step ({escape(rec.api[0].api.name)}):[/bold] {escape(step['command'])} prints:")
        c.print(escape(step["code"]).rstrip(), soft_wrap=True)
    if explain:
        c.print("\n[bold]Basis of each estimate[/bold]")
        for p in rec.local:
            c.print(f"- {p.model.id} ({p.quant.id}, {p.runner}, {p.mode}): total {p.mem.total_gib:.2f} GiB: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in p.mem.parts().items()))
            for k, v in p.mem.basis.items():
                c.print(f"    {k}: {v}")
            c.print(f"    speed: {p.speed.basis}")
            _print_quality(c, p, p.quant)
            from vlmselect import viz

            viz.print_bars(c, viz.bars_from_pick(p, rec.hardware), indent=4)
        for a in rec.api:
            c.print(f"- {a.api.id}: {a.cost.basis}")
            _print_quality(c, a, None)
        if rec.excluded:
            c.print("\n[bold]Excluded[/bold]")
            for e in rec.excluded:
                c.print(f"- {e.id}: {e.reason}")
    elif rec.excluded:
        c.print(f"({len(rec.excluded)} models excluded; --explain says why)")


def _print_quality(c: Console, p: LocalPick | ApiPick, quant: Quant | None) -> None:
    from rich.markup import escape

    from vlmselect.ranking import explain_lines

    if p.q is None:
        return
    for i, line in enumerate(explain_lines(p.q, quant)):
        c.print(escape(f"    {'quality: ' if i == 0 else '  '}{line}"))
    if getattr(p, "penalty", 0.0):  # an ApiPick's
        c.print(f"      deprecated: ranked as if its lower bound were {cast('ApiPick', p).penalty:g} lower ({p.quality_low:.2f})")
    if p.tie:
        c.print("      statistical tie with its neighbours (quality bounds within 0.02): ordered by speed / price")


# ---------------------------------------------------------------- estimate


def print_estimate(d: dict[str, Any], hw: HardwareProfile | None = None, c: Console | None = None) -> None:
    c = c or console()
    c.print(f"[bold]{d['id']}[/bold] at {d['quant']} on {d['runner']}: {d['total_gib']:.2f} GiB"
            + (f" ({d['mode']})" if d.get("mode") else ""))
    c.print(f"  context {d['context']} tokens ({d['images']} image(s) x {d['image_tokens']} tokens)")
    # The weights' basis covers text and vision together: print it once, on the text line.
    basis = dict(d["basis"], weights_text=d["basis"].get("weights", ""), weights_vision="")
    for k, v in d["parts_gib"].items():
        c.print(f"  {k:15s} {v:7.2f} GiB   {basis.get(k, '')}".rstrip())
    pl = d.get("placement")
    if pl and pl["gpu_indices"]:
        per = ", ".join(f"GPU#{i} {n:.2f} of {u:.2f} GiB usable"
                        for i, n, u in zip(pl["gpu_indices"], pl["gpu_need_gib"], pl["gpu_usable_gib"]))
        c.print(f"  placement: {pl['mode']} ({per}, margin included)"
                + (f"; {pl['ram_gib']:.2f} GiB in RAM" if pl.get("ram_gib") and pl["mode"] == "offload" else ""))
    elif pl:
        c.print(f"  placement: cpu ({pl.get('ram_gib') or 0:.2f} GiB of RAM)")
    if d.get("runtime"):
        c.print(f"  runtime: {d['runtime']['basis']}")
    if d.get("tokens_per_s") is not None:
        c.print(f"  speed: {d['tokens_per_s']:.1f} tok/s, {d['seconds_per_image']:.1f} s/image  ({d.get('speed_basis', '')})")
    elif d.get("speed_basis"):
        c.print(f"  speed: {d['speed_basis']}")
    if d.get("fits_up_to"):
        f = d["fits_up_to"]
        c.print(f"  fits up to (one GPU, {f['budget_gib']:.1f} GiB): context {f['context']:,} tokens;"
                f" {f['images']} image(s); images up to {f['resolution'] or 'none'}")
    for n in d.get("notes", []):
        c.print(f"  note: {n}")
    steps = d.get("next_steps") or []
    if steps:
        c.print(f"  run: {steps[0]}")
        for line in steps[1:]:
            c.print(f"  then: {line}")
    for n in d.get("command_notes", []):
        c.print(f"  note: {n}")
    if hw is not None:
        from vlmselect import viz

        c.print()
        viz.print_bars(c, viz.bars_from_estimate(d, hw))


def print_sweep(data: dict[str, Any], c: Console | None = None) -> None:
    from vlmselect import viz

    viz.print_sweep(c or console(), data)
