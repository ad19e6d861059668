"""Rendering for the commands that act on this machine (pull, smoke, doctor): their modules
return data (PullPlan/PullResult, SmokeResult, DoctorReport); this prints it.

Progress and notes go to stderr, results to stdout, so `--json` output stays one JSON document.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from vlmselect.render import console


def print_pull_plan(plan: Any) -> None:
    c = console(stderr=True)
    size = f"{plan.size_gb:.1f} GB" if plan.size_gb else "size not published"
    c.print(f"{plan.model.name}: {plan.artifact} ({plan.quant}, {size}) via {plan.runner}; "
            f"estimated {plan.vram_gib:.1f} GiB" + (f", runs as {plan.mode}" if plan.mode else ""), markup=False)


def note(text: str, kind: str = "note") -> None:
    """One line on stderr: `warning (--force): ...`, `note: ...`."""
    from rich.markup import escape

    colour = "yellow"
    console(stderr=True).print(f"[{colour}]{escape(kind)}:[/{colour}] {escape(text)}")


@contextmanager
def pull_progress(quiet: bool = False) -> Iterator[Callable[[str, Any], None]]:
    """A progress callback for Ollama's pull stream: bars on a terminal, else one line per status
    change and per 25 % of each layer (logs stay readable)."""
    c = console(stderr=True)
    if quiet:
        yield lambda status, layer: None
        return
    if c.is_terminal:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      TimeRemainingColumn(), console=c) as bar:
            tasks: dict[str, Any] = {}

            def on_bar(status: str, layer: Any) -> None:
                if layer is None or not layer.total:
                    return
                if layer.digest not in tasks:
                    tasks[layer.digest] = bar.add_task(f"layer {layer.digest.split(':')[-1][:12]}", total=layer.total)
                bar.update(tasks[layer.digest], completed=layer.completed)

            yield on_bar
        return
    seen: dict[str, Any] = {}

    def on_line(status: str, layer: Any) -> None:
        if layer is not None and layer.total:
            step = int(4 * layer.completed / layer.total)
            if seen.get(layer.digest) != step:
                seen[layer.digest] = step
                c.print(f"{status}: {layer.completed}/{layer.total} bytes ({100 * layer.completed // layer.total}%)",
                        markup=False)
        elif seen.get("_status") != status:
            seen["_status"] = status
            c.print(status, markup=False)

    yield on_line


def print_pull_result(res: Any, json_out: bool = False) -> None:
    """What was fetched (stderr); the server command a script can take (stdout, unless --json)."""
    c = console(stderr=True)
    if res.runner == "ollama":
        c.print(f"pulled {res.artifact}", markup=False)
    elif res.runner == "llama.cpp":
        for f in res.files:
            c.print(f"downloaded {res.artifact}/{f.rsplit('/', 1)[-1]} to {f}", markup=False)
    else:
        c.print(f"downloaded {res.artifact} to {res.target}", markup=False)
    for w in res.warnings if res.runner == "llama.cpp" else ():
        note(w)
    if res.command:
        c.print("serve it with:")
        if not json_out:
            print(res.command)  # stdout: the one line a script can take


def print_smoke(rec: dict[str, Any]) -> None:
    from rich.markup import escape

    c = console()
    verdict = "[green]PASSED[/green]" if rec["passed"] else "[red]FAILED[/red]"
    c.print(f"{verdict} {escape(str(rec['id']))} via {rec['runner']} ({rec.get('quant') or '?'}) — score {rec['score']}")
    c.print(f"  answer: {rec['answer'][:300]!r}", markup=False)
    ch = rec.get("checks") or {}
    if ch.get("text_cer") is not None:
        c.print(f"  text CER {ch['text_cer']}" + (f", bars {ch.get('bars_ok')}, colour {ch.get('colour_ok')}"
                                                if "bars_ok" in ch else ""), markup=False)
    c.print(f"  latency {rec['latency_s']} s, first token {rec['ttft_s']} s, {rec['tokens_per_s']} tok/s")
    c.print(f"  memory: measured {rec['vram_peak_gib']} GiB VRAM, estimated {rec['vram_estimated_gib']} GiB"
            + (f" (CPU run: RAM grew {rec['ram_delta_gib']} GiB)" if rec.get("ram_delta_gib") is not None else ""))
    mem = rec.get("server_memory") or {}
    shown = ", ".join(f"{k} {v}" for k, v in mem.items() if v is not None and k.endswith(("_mib", "_tokens", "_gib")))
    if shown:  # what llama-server / vLLM said they allocated
        c.print(f"  {rec['runner']} reports: {shown}" + (f" (version {rec['server_version']})"
                                                         if rec.get("server_version") else ""), markup=False)
    c.print(f"  saved {rec['record']}" if rec.get("record") else f"  record {rec.get('record_error')}", markup=False)


def print_doctor(report: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from vlmselect import __version__
    from vlmselect.render import hardware_line

    hw, checks = report.hardware, report.checks
    c = console()
    c.print(f"vlmselect {__version__} · Python {sys.version.split()[0]} · {sys.platform}")
    c.print(hardware_line(hw))
    if hw.cpu_name:
        c.print(f"CPU: {hw.cpu_name} ({hw.cpu_cores} cores)")
    t = Table(title="Checks")
    for col in ("check", "status", "detail", "fix"):
        t.add_column(col, overflow="fold")
    mark = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}
    for ch in checks:
        t.add_row(*(escape(x) for x in (ch.name, mark[ch.status], ch.detail, ch.hint)))
    c.print(t)
    fails = sum(ch.status == "fail" for ch in checks)
    warns = sum(ch.status == "warn" for ch in checks)
    c.print(f"{fails} failed, {warns} warnings" + (" — fix the failures above" if fails else ""))
