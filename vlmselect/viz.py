"""Pictures of memory: what fills each card (one bar per device) and how memory and speed move
with the workload (a sweep). Drawn with rich, readable without colour and within 80 columns.

The numbers come from the estimator's own result (MemoryEstimate parts, via `estimate`'s dict
or a recommend pick); this module only lays them out. Where a placement splits the parts over
devices, it follows placement.place()'s rule (see `device_loads`). rich is imported inside the
functions that draw, so importing this module costs nothing.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any, NamedTuple

from vlmselect.placement import FIT_MARGIN, fit_margin

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

    from rich.console import Console
    from rich.text import Text

    from vlmselect.hardware.types import HardwareProfile
    from vlmselect.recommend import LocalPick

MAX_WIDTH = 80  # the picture never grows past a classic terminal


class Seg(NamedTuple):
    key: str
    label: str
    uni: str  # fill on a terminal
    ascii: str  # fill in plain text (pipes, logs, any encoding)
    style: str


# Drawing order = memory order: what the model is, what a request adds, what the runtime adds.
SEGS = (
    Seg("weights_text", "text weights", "█", "W", "blue"),
    Seg("weights_vision", "vision", "▓", "V", "magenta"),
    Seg("kv_text", "KV text", "▒", "K", "green"),
    Seg("kv_image", "KV image", "░", "I", "bright_green"),
    Seg("compute", "compute", "#", "C", "cyan"),
    Seg("overhead", "overhead", "=", "O", "yellow"),
)
MARGIN = Seg("margin", "margin", "+", "+", "red")
# MemoryEstimate.parts() rounds each of its 5 parts to 1e-3 GiB: a model placement fits to the brim
# may sum a few thousandths over its card here, which is rounding, not "over".
PARTS_ROUNDING_GIB = 5 * 0.0005 * (1 + FIT_MARGIN)
FREE = Seg("free", "free", "·", ".", "grey42")
SEG = {s.key: s for s in (*SEGS, MARGIN, FREE)}


class Bar(NamedTuple):
    """One device: its share of each part (GiB), its usable memory and what it needs with the margin."""

    title: str
    parts: dict[str, float]  # key in SEGS -> GiB
    capacity_gib: float | None  # usable memory there; None when the machine is unknown
    need_gib: float  # parts + the fit margin where recommend applies one
    verdict: str  # from the estimate's own placement, never re-judged here
    margin: float = FIT_MARGIN  # the fraction placement.fit_margin() keeps for this runner

    @property
    def used_gib(self) -> float:
        return sum(self.parts.values())


# ---------------------------------------------------------------- parts -> devices


def split_parts(parts_gib: dict[str, float], kv_image_gib: float) -> dict[str, float]:
    """The five estimator parts, with the KV cache told apart into text and image tokens."""
    kv_img = min(max(kv_image_gib, 0.0), parts_gib["kv_cache"])
    return {"weights_text": parts_gib["weights_text"], "weights_vision": parts_gib["weights_vision"],
            "kv_text": parts_gib["kv_cache"] - kv_img, "kv_image": kv_img,
            "compute": parts_gib["compute"], "overhead": parts_gib["overhead"]}


def _scaled(parts: dict[str, float], keys: tuple[str, ...], f: float) -> dict[str, float]:
    return {k: (v * f if k in keys else v) for k, v in parts.items()}


def device_loads(parts: dict[str, float], mode: str | None, gpus_used: int, gpu_share: float | None,
                 margin: float) -> list[tuple[str, dict[str, float], float]]:
    """[(device kind, parts there, need there)] by recommend.place()'s rule: one GPU holds all;
    k GPUs each hold 1/k of weights and KV plus their own compute and overhead; offload keeps
    vision, compute and overhead on the GPU and puts the rest of text weights and KV in RAM."""
    shared = ("weights_text", "weights_vision", "kv_text", "kv_image")
    fixed = ("weights_vision", "compute", "overhead")
    if mode == "multi-gpu" and gpus_used > 1:
        per = _scaled(parts, shared, 1 / gpus_used)
        return [("gpu", per, sum(per.values()) * (1 + margin))] * gpus_used
    if mode == "offload":
        s = gpu_share if gpu_share is not None else 1.0
        moved = ("weights_text", "kv_text", "kv_image")
        on_gpu, in_ram = _scaled(parts, moved, s), _scaled(parts, moved, 1 - s)
        for k in fixed:
            in_ram[k] = 0.0
        # placement keeps the margin on everything the GPU holds, offloaded layers' GPU share included
        gpu_need = sum(on_gpu.values()) * (1 + margin)
        return [("gpu", on_gpu, gpu_need), ("ram", in_ram, sum(in_ram.values()))]
    if mode == "cpu":
        return [("ram", dict(parts), sum(parts.values()) * (1 + margin))]
    return [("gpu", dict(parts), sum(parts.values()) * (1 + margin))]


def _verdict(mode: str | None, fits: bool, unplaced: str | None = None) -> str:
    if mode is None and unplaced == "no artifact":
        return "no such artifact in the catalog"
    return {"gpu": "fits", "multi-gpu": "fits (split)", "offload": "offloads to RAM", "cpu": "runs on the CPU",
            }.get(mode or "", "fits" if fits else "does not fit")


def bars_for(parts: dict[str, float], mode: str | None, gpus_used: int, gpu_share: float | None, usable_gib: float | None,
             gpu_names: list[str], ram_usable_gib: float | None, fits: bool, unplaced: str | None = None,
             runner: str = "") -> list[Bar]:
    """The bars of one placement: a GPU's usable memory is `usable_gib` (the placement's own), the
    margin placement's for `runner`."""
    verdict = _verdict(mode, fits, unplaced)
    margin = fit_margin(runner)
    out = []
    gi = 0
    ram = ram_usable_gib if ram_usable_gib and ram_usable_gib > 0 else None
    for kind, p, need in device_loads(parts, mode, gpus_used, gpu_share, margin):
        if kind == "gpu" and gpu_names:
            name = gpu_names[gi] if gi < len(gpu_names) else "GPU"
            out.append(Bar(f"GPU {gi} {name}", p, usable_gib, need, verdict, margin))
            gi += 1
        else:  # RAM: offloaded layers, a CPU placement, or no GPU at all
            cap = usable_gib if mode == "cpu" else ram
            out.append(Bar("system RAM" + ("" if gpu_names else " (no GPU)"), p, cap, need, verdict, margin))
    return out


def bars_from_estimate(d: dict[str, Any], hw: HardwareProfile) -> list[Bar]:
    """Bars of `estimate`'s own result (its dict)."""
    from vlmselect.placement import usable_ram

    names = [g.name for g in hw.usable_gpus]
    return bars_for(split_parts(d["parts_gib"], d.get("kv_image_gib", 0.0)), d.get("mode"), d.get("gpus_used") or 1,
                    d.get("gpu_share"), d.get("usable_gib"), names, usable_ram(hw), bool(d.get("fits")),
                    d.get("unplaced"), d.get("runner") or "")


def bars_from_pick(p: LocalPick, hw: HardwareProfile) -> list[Bar]:
    """Bars of one recommend pick."""
    from vlmselect.placement import usable_ram

    names = [g.name for g in hw.usable_gpus]
    return bars_for(split_parts(p.mem.parts(), p.mem.kv_image_gib), p.mode, p.gpus_used, p.placement.gpu_share,
                    p.usable_gib, names, usable_ram(hw), p.fits, runner=p.runner)


# ---------------------------------------------------------------- cells


def cells(values: list[float], scale: float, width: int) -> list[int]:
    """Cells per value on a bar where `scale` GiB fills `width` cells: largest remainder, so the
    cells add up to the rounded total; a value of at least a tenth of a cell gets one to be seen."""
    if scale <= 0:
        return [0] * len(values)
    exact = [max(v, 0.0) / scale * width for v in values]
    n = [math.floor(x) for x in exact]
    want = round(sum(exact))
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - n[i], reverse=True)[: max(want - sum(n), 0)]:
        n[i] += 1
    for i, x in enumerate(exact):
        if n[i] == 0 and x >= 0.1:
            big = max(range(len(n)), key=lambda j: n[j])
            if n[big] > 1:
                n[big] -= 1
                n[i] = 1
    return n


def fill_runs(spans: list[tuple[str, str, int]], width: int, cap_col: int | None, unicode: bool) -> list[tuple[str, str]]:
    """(char, style, cells) spans as text runs padded to `width`, with the capacity mark inserted
    before cell `cap_col` (an extra column: the cells keep their scale)."""
    runs: list[tuple[str, str]] = []
    col = 0
    mark = ("┃" if unicode else "|", "bold red")
    for ch, style, k in [*spans, (" ", "", max(width - sum(k for *_, k in spans), 0))]:
        if cap_col is not None and col <= cap_col < col + k:
            runs += [(ch * (cap_col - col), style), mark, (ch * (col + k - cap_col), style)]
        elif k:
            runs.append((ch * k, style))
        col += k
    if cap_col is not None and cap_col >= col:
        runs.append(mark)
    return [r for r in runs if r[0]]


def _clip(spans: list[tuple[str, str, int]], width: int, arrow: str) -> list[tuple[str, str, int]]:
    """Spans cut to `width` cells, the last one an arrow, when they run past it."""
    if sum(k for *_, k in spans) <= width:
        return spans
    out, left = [], width - 1
    for ch, style, k in spans:
        out.append((ch, style, min(k, left)))
        left -= min(k, left)
    return [*out, (arrow, "bold red", 1)]


def _fmt(v: float) -> str:
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"


def bar_lines(b: Bar, width: int, unicode: bool) -> list[list[tuple[str, str]]]:
    """A bar as lines of (text, style) runs: title, bar, legend. `width` includes the brackets."""
    inner = width - 3  # brackets, and a column for the capacity mark when the need goes past it
    cap = b.capacity_gib
    used = b.used_gib
    margin = max(b.need_gib - used, 0.0)
    scale = max(cap or 0.0, b.need_gib, 1e-9)
    keys = [s.key for s in SEGS]
    free = max((cap or 0.0) - b.need_gib, 0.0) if cap is not None else 0.0
    vals = [b.parts.get(k, 0.0) for k in keys] + [margin, free]
    n = cells(vals, scale, inner)
    fill = [SEG[k] for k in keys] + [MARGIN, FREE]
    cap_col = round(cap / scale * inner) if cap is not None and cap + PARTS_ROUNDING_GIB < b.need_gib else None
    runs = fill_runs([(s.uni if unicode else s.ascii, s.style, k) for s, k in zip(fill, n)], inner, cap_col, unicode)
    bar = [("[", "bold"), *runs, ("]", "bold")]
    if cap is None:
        status = f"{_fmt(used)} GiB; usable memory unknown"
    elif b.need_gib <= cap + PARTS_ROUNDING_GIB:
        status = f"needs {_fmt(b.need_gib)} of {_fmt(cap)} GiB usable, {_fmt(max(cap - b.need_gib, 0.0))} spare: {b.verdict}"
    else:
        status = f"needs {_fmt(b.need_gib)}, {_fmt(cap)} GiB usable, {_fmt(b.need_gib - cap)} over: {b.verdict}"
    head = f"{b.title}{' ·' if unicode else ':'} {status}"
    lines = [[(head, "bold")]] if len(head) <= width else [[(b.title[:width], "bold")], [("  " + status, "bold")]]
    lines.append(bar)
    items = [(SEG[k], b.parts.get(k, 0.0)) for k in keys] + [(MARGIN, margin)] + ([(FREE, free)] if cap is not None else [])
    legend: list[tuple[str, str]] = []
    cur = 0
    for s, v in items:
        if v < 0.005 and s.key not in ("free",):
            continue  # a part this device does not hold (RAM holds no vision tower when offloading)
        name = f"margin {b.margin:.0%}" if s.key == "margin" else s.label
        label = f" {s.uni if unicode else s.ascii} {name} {_fmt(v)} "
        if cur + len(label) + 4 > width:
            lines.append(legend)
            legend, cur = [], 0
        legend.append((label[:3], s.style))
        legend.append((label[3:], ""))
        cur += len(label)
    legend.append(("GiB", ""))
    lines.append(legend)
    return lines


# ---------------------------------------------------------------- output


def picture_width(console: Console) -> int:
    return max(min(console.width, MAX_WIDTH), 40)


def _text(runs: Iterable[tuple[str, str]], color: bool) -> Text:
    from rich.text import Text

    t = Text(no_wrap=True, overflow="crop")
    for s, style in runs:
        t.append(s, style=style if color else None)
    return t


def print_bars(console: Console, bars: list[Bar], unicode: bool | None = None, indent: int = 0) -> None:
    """Draw `bars` on `console` (terminal: block fills and colours; otherwise plain ASCII)."""
    uni = console.is_terminal if unicode is None else unicode
    width = picture_width(console) - indent
    for i, b in enumerate(bars):
        if i:
            console.print()
        for runs in bar_lines(b, width, uni):
            console.print(_text([(" " * indent, ""), *runs], not console.no_color))


def recording_console(width: int = MAX_WIDTH) -> Console:
    """A colour console that records what is drawn, for --svg (the pictures stay within 80 columns)."""
    from rich.console import Console

    return Console(record=True, file=io.StringIO(), width=width, force_terminal=True,
                   color_system="truecolor", highlight=False, legacy_windows=False)


def save_svg(console: Console, path: str | os.PathLike[str], title: str) -> None:
    from vlmselect.errors import UsageError

    try:
        console.save_svg(str(path), title=title)
    except OSError as exc:
        raise UsageError(f"cannot write --svg {path}: {exc.strerror or exc}",
                         "give a path in a folder that exists and that you can write to") from None


# ---------------------------------------------------------------- sweep


_MODE_SHORT = {"gpu": "fits", "multi-gpu": "fits", "offload": "offload", "cpu": "cpu"}


def _row_verdict(r: dict[str, Any]) -> str:
    s = _MODE_SHORT.get(r.get("mode") or "", "no artifact" if r.get("unplaced") == "no artifact" else "no fit")
    return f"fits x{r['gpus_used']}" if r.get("mode") == "multi-gpu" else s


def _num(v: float | None, fmt: str) -> str:
    return format(v, fmt) if v is not None else "-".rjust(int(fmt.split(".")[0]))


def print_sweep(console: Console, data: dict[str, Any], unicode: bool | None = None) -> None:
    """Memory (stacked as in the bars), tokens/s and s/image against the swept value, with this
    machine's usable memory marked and a line where `estimate`'s verdict changes."""
    uni = console.is_terminal if unicode is None else unicode
    color = not console.no_color
    width = picture_width(console)
    rows = data["rows"]
    lw = max(len(data["sweep"]), *(len(r["label"]) for r in rows))
    tail = 7 + 7 + 7 + 10  # GiB, tok/s, s/img, verdict (one column spare)
    bw = width - lw - 2 - tail - 1  # bar cells, plus one column for the capacity mark
    caps = [r["usable_gib"] for r in rows if r.get("usable_gib") is not None]
    cap = caps[0] if caps else None
    per_gpu = [(r, split_parts(r["parts_gib"], r.get("kv_image_gib") or 0.0)) for r in rows]
    margin = fit_margin(data.get("runner") or "")
    scale = max([r["total_gib"] * (1 + margin) for r in rows] + [cap or 0.0])
    if cap and scale > 2 * cap:
        scale = 2 * cap  # keep the region around the card readable; longer rows end in an arrow
    hdr = f"{data['id']} at {data['quant']} on {data['runner']}: memory vs {data['sweep']}"
    console.print(_text([(hdr, "bold")], color))
    console.print(_text([(f"{data['sweep']:>{lw}}  {'memory':<{bw + 1}}{'GiB':>7}{'tok/s':>7}{'s/img':>7}  verdict", "bold")],
                        color))
    cap_col = round(cap / scale * bw) if cap is not None else None
    keys = [s.key for s in SEGS]
    prev = None
    for r, parts in per_gpu:
        verdict = _row_verdict(r)
        if prev is not None and verdict != prev:
            what = "stops fitting on this GPU" if prev.startswith("fits") else f"{prev} ends"
            note = f" {what} past {rows[rows.index(r) - 1]['label']}; from {r['label']}: {verdict} "
            console.print(_text([(("─" if uni else "-") * 2 + note + ("─" if uni else "-") * max(width - len(note) - 3, 0),
                                  "red" if prev.startswith("fits") else "yellow")], color))
        prev = verdict
        n = cells([parts[k] for k in keys], scale, bw)
        runs: list[tuple[str, str]] = [(f"{r['label']:>{lw}}  ", "")]
        spans = [(s.uni if uni else s.ascii, s.style, k) for s, k in zip(SEGS, n)]
        runs += fill_runs(_clip(spans, bw, "►" if uni else ">"), bw, cap_col, uni)
        if cap_col is None:
            runs.append((" ", ""))
        good = r.get("fits")
        placed = r.get("mode") is not None  # no speed for a placement that does not exist
        nums = (f"{r['total_gib']:7.2f}{_num(r.get('tokens_per_s') if placed else None, '7.1f')}"
                f"{_num(r.get('seconds_per_image') if placed else None, '7.1f')}")
        runs.append((nums, ""))
        runs.append((f"  {verdict}", "green" if good else "red"))
        console.print(_text(runs, color))
    legend: list[tuple[str, str]] = []
    for s in SEGS:
        legend += [(s.uni if uni else s.ascii, s.style), (f" {s.label}  ", "")]
    console.print(_text(legend, color))
    gpus = [g["name"] for g in data["hardware"].get("gpus", [])]
    if cap is not None:
        where = f"{gpus[0]}" if gpus else "system RAM"
        console.print(_text([("┃" if uni else "|", "bold red"), (f" {_fmt(cap)} GiB usable on {where}"[: width - 1], "")],
                            color))
    console.print(_text([(f"GiB: estimate without the {margin:.0%} margin; verdict: `estimate` at that value"[: width],
                          "dim")], color))


# ---------------------------------------------------------------- plan: throughput by concurrency


def print_curve(console: Console, p: dict[str, Any], unicode: bool | None = None) -> None:
    """A plan's images/h against requests in flight, up to what the KV pool holds (`plan`'s own
    curve: one point per doubling, and the concurrency it runs at)."""
    uni = console.is_terminal if unicode is None else unicode
    color = not console.no_color
    width = picture_width(console)
    pts = p["curve"]
    if not pts:
        return
    top = max(x["images_per_hour"] for x in pts) or 1
    # Bar cells: what the columns leave (in flight, gap, images/h, latency, mark), at least 8 on a narrow terminal.
    bw = max(width - 10 - 2 - 11 - 9 - 9, 8)
    console.print(_text([(f"{p['name']} {p['quant']}: images/h by requests in flight"[:width], "bold")], color))
    console.print(_text([(f"{'in flight':>10}  {'images/h':<{bw}}{'':>11}{'latency':>9}", "bold")], color))
    for x in pts:
        n = max(1, round(x["images_per_hour"] / top * bw))
        mark = ""
        if x["concurrency"] == p["max_concurrency_kv"]:
            mark = " KV full"
        elif x["concurrency"] == p["max_num_seqs"]:
            mark = " seqs cap"
        console.print(_text([(f"{x['concurrency']:>10}  ", ""), (("█" if uni else "#") * n, "blue"),
                             (" " * (bw - n), ""), (f"{x['images_per_hour']:>11,}{x['latency_s']:>8.1f}s", ""),
                             (mark, "red")], color))
    console.print(_text([(f"KV full: the KV pool holds {p['max_concurrency_kv']} requests; seqs cap: vLLM's"
                          f" max_num_seqs {p['max_num_seqs']}"[:width], "dim")], color))
