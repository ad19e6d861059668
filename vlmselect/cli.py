"""The command line: parse -> call -> render. Errors become a message, a hint and an exit code.

This module holds `recommend` and `estimate`, the registry of commands and the error boundary.
The other commands live in cli_catalog (models, show, snippet, catalog), cli_run (doctor, pull,
smoke) and cli_plan (plan, bench), and are imported only when named: a run loads one command.

No `from __future__ import annotations` in the command modules: typer evaluates every
parameter's annotation (inspect.signature(eval_str=True), then get_type_hints), and strings
would be compiled twice per parameter; about 2 % of a `recommend` start."""

import importlib
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from vlmselect import __version__
from vlmselect.cli_options import (CatalogOpt, ContextOpt, CpuOnlyOpt, FlashOpt, GpuCountOpt, GpuOpt, ImagesOpt,
                                   JsonOpt, KvCacheOpt, NewTokOpt, RamOpt, ResOpt, RunnerVersionOpt, SvgOpt, VramOpt,
                                   _catalog, _choice, _date, _hardware, _runner, _runtime, _state, _svg, _workload)
from vlmselect.errors import UsageError, VlmselectError

APP_HELP = "Choose a vision-language model for your GPU and your task, then get it running."

# ---------------------------------------------------------------- commands


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"vlmselect {__version__}")
        raise typer.Exit(0)


def _root(
    catalog: CatalogOpt = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.", is_eager=True,
                                          callback=_print_version)] = False,
) -> None:
    _state["catalog"] = list(catalog or [])


def recommend(
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="What the model must do (see `vlmselect models --help`).")] = None,
    priority: Annotated[str, typer.Option("--priority", help="balanced | quality | speed | cost")] = "balanced",
    local: Annotated[bool, typer.Option("--local", help="Only local models.")] = False,
    api: Annotated[bool, typer.Option("--api", help="Only hosted APIs.")] = False,
    runner: Annotated[Optional[str], typer.Option("--runner", help="ollama | transformers | llama.cpp | vllm")] = None,
    max_cost_per_image: Annotated[Optional[float], typer.Option("--max-cost-per-image", help="USD cap for APIs.")] = None,
    commercial: Annotated[bool, typer.Option("--commercial", help="Only licences that allow commercial use.")] = False,
    include_unknown_licence: Annotated[bool, typer.Option("--include-unknown-licence", help="With --commercial: keep models whose licence terms the catalog does not state.")] = False,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Only models released by this date (YYYY-MM-DD).")] = None,
    top: Annotated[int, typer.Option("--top", help="How many of each to show.")] = 5,
    explain: Annotated[bool, typer.Option("--explain", help="Show the basis of each estimate, what fills each card, and the excluded models.")] = False,
    json_out: JsonOpt = False,
    svg: SvgOpt = None,
    catalog: CatalogOpt = None,
    gpu: GpuOpt = None, gpu_count: GpuCountOpt = 1, vram: VramOpt = None, ram: RamOpt = None, cpu_only: CpuOnlyOpt = False,
    context: ContextOpt = 4096, images: ImagesOpt = None, resolution: ResOpt = "1024x1024", max_new_tokens: NewTokOpt = 256,
    runner_version: RunnerVersionOpt = None, flash_attention: FlashOpt = None, kv_cache: KvCacheOpt = "f16",
) -> None:
    """Recommend local models and hosted APIs for a task on this (or a described) machine."""
    from vlmselect import render
    from vlmselect.recommend import PRIORITIES, Request, recommend as run

    cat = _catalog(catalog)
    if task is None:
        raise UsageError("--task is required", "tasks: " + ", ".join(cat.tasks))
    t = cat.task(task)
    prio = _choice(priority, PRIORITIES, "--priority")
    rnr = _runner(runner)
    if top < 1:
        raise UsageError(f"--top must be at least 1, got {top}", "for example --top 5")
    if max_cost_per_image is not None and max_cost_per_image < 0:
        raise UsageError("--max-cost-per-image must be 0 or more", "for example --max-cost-per-image 0.005")
    if local and api:
        raise UsageError("--local and --api exclude each other", "give one of them, or neither for both")
    if api and rnr is not None:
        raise UsageError(f"--runner {rnr} is for local models; --api lists hosted APIs only",
                         "drop --runner, or drop --api to see local models")
    if runner_version is not None and rnr is None:
        raise UsageError("--runner-version needs --runner", "for example --runner ollama --runner-version 0.13.4")
    rt = _runtime(rnr, runner_version, flash_attention, kv_cache)
    wl = _workload(context, images, resolution, max_new_tokens, default_images=t.images or 1,
                   video=t.video)._replace(runtime=rt)
    when = _date(as_of, "--as-of")
    hw = _hardware(cat, gpu, gpu_count, vram, ram, cpu_only)
    measured = {}
    if hw.source not in ("preset", "manual") and hw.usable_gpus:  # only measurements from this very machine
        from vlmselect.smoke import measured_speeds

        measured = measured_speeds(hw.usable_gpus[0].name)
    req = Request(task=t, workload=wl, priority=prio or "balanced", local=not api, api=not local and rnr is None, runner=rnr,
                  max_cost_per_image=max_cost_per_image, commercial=commercial, as_of=when, top=top,
                  include_unknown_licence=include_unknown_licence,
                  measured=measured)
    rec = run(cat, hw, req)
    if json_out:
        render.print_json(render.recommendation_json(rec))
    else:
        render.print_recommendation(rec, explain)
    if svg is not None:
        # Wider than the pictures: the tables of a report read better at 120 columns.
        _svg(svg, "vlmselect recommend", lambda c: render.print_recommendation(rec, True, c), width=120)


def estimate(
    model: Annotated[str, typer.Argument(help="Model id or name.")],
    quant: Annotated[Optional[str], typer.Option("--quant", help="fp16, bf16, q8_0, q6_k, q5_k_m, q4_k_m, q4_0, q3_k_m, q2_k, iq2_xxs, nf4, int8, awq, gptq, fp8")] = None,
    runner: Annotated[Optional[str], typer.Option("--runner", help="ollama | transformers | llama.cpp | vllm")] = None,
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="Rank the model's options for this task (default: none).")] = None,
    sweep: Annotated[Optional[str], typer.Option("--sweep", help="Draw memory and speed against context, images or resolution (e.g. context=1024:131072).")] = None,
    json_out: JsonOpt = False,
    svg: SvgOpt = None,
    catalog: CatalogOpt = None,
    gpu: GpuOpt = None, gpu_count: GpuCountOpt = 1, vram: VramOpt = None, ram: RamOpt = None, cpu_only: CpuOnlyOpt = False,
    context: ContextOpt = 4096, images: ImagesOpt = None, resolution: ResOpt = "1024x1024", max_new_tokens: NewTokOpt = 256,
    runner_version: RunnerVersionOpt = None, flash_attention: FlashOpt = None, kv_cache: KvCacheOpt = "f16",
) -> None:
    """Estimate memory (and speed, when a GPU is known) of one model at one quant, with a picture of what fills each card."""
    from vlmselect import render
    from vlmselect.catalog import ModelSpec
    from vlmselect.catalog_views import estimate_one

    cat = _catalog(catalog)
    m = cat.model(model)
    if not isinstance(m, ModelSpec):
        raise UsageError(f"{m.id} is a hosted API: it has no local memory footprint", "try `vlmselect show " + m.id + "`")
    rnr = _runner(runner)
    t = cat.task(task) if task else None
    rt = _runtime(rnr, runner_version, flash_attention, kv_cache)
    wl = _workload(context, images, resolution, max_new_tokens, default_images=(t.images or 1) if t else 1,
                   video=bool(t and t.video))._replace(runtime=rt)
    hw = _hardware(cat, gpu, gpu_count, vram, ram, cpu_only)
    if sweep is not None:
        from vlmselect.sweep import parse_sweep, run_sweep

        data = run_sweep(cat, m, quant, rnr, wl, hw, parse_sweep(sweep, m.context_max))
        if json_out:
            render.print_json(data)
        else:
            render.print_sweep(data)
        if svg is not None:
            _svg(svg, f"vlmselect estimate {m.id} --sweep {data['sweep']}", lambda c: render.print_sweep(data, c))
        return
    d = estimate_one(cat, m, quant, rnr, wl, hw, task=t)
    if json_out:
        render.print_json(d)
    else:
        render.print_estimate(d, hw)
    if svg is not None:
        _svg(svg, f"vlmselect estimate {m.id}", lambda c: render.print_estimate(d, hw, c))


# ---------------------------------------------------------------- entry point


# Command name -> the module that defines it (a function of the same name), in the order of --help.
COMMANDS: dict[str, str] = {
    "recommend": "vlmselect.cli", "models": "vlmselect.cli_catalog", "show": "vlmselect.cli_catalog",
    "estimate": "vlmselect.cli", "snippet": "vlmselect.cli_catalog", "doctor": "vlmselect.cli_run",
    "pull": "vlmselect.cli_run", "smoke": "vlmselect.cli_run", "plan": "vlmselect.cli_plan",
    "bench": "vlmselect.cli_plan",
}


def _command(name: str, module: str | None = None) -> Callable[..., Any]:
    fn: Callable[..., Any] = getattr(importlib.import_module(module or COMMANDS[name]), name)
    return fn


def build_app(only: str | None = None) -> typer.Typer:
    """The typer app. With `only`, just that command is registered: typer inspects every
    command's signature at start-up, and one command's is all a run needs."""
    app = typer.Typer(name="vlmselect", add_completion=False, no_args_is_help=True,
                      pretty_exceptions_enable=False, help=APP_HELP)
    app.callback()(_root)
    for name in COMMANDS:
        if only in (None, name):
            app.command(name)(_command(name))
    if only in (None, "catalog"):
        catalog_app = typer.Typer(help="Check catalog files and see how current they are.", no_args_is_help=True)
        catalog_app.command("validate")(_command("catalog_validate", "vlmselect.cli_catalog"))
        catalog_app.command("stats")(_command("catalog_stats", "vlmselect.cli_catalog"))
        app.add_typer(catalog_app, name="catalog")
    return app


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named on the command line (skipping global options and their values)."""
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--catalog":
            skip = True
        elif not a.startswith("-"):
            return a if a in COMMANDS or a == "catalog" else None
    return None


def _debug() -> bool:
    return "--debug" in sys.argv or os.environ.get("VLMSELECT_DEBUG") == "1"


def _kind(exc: BaseException) -> str | None:
    """click's exception kinds, recognised by name: recent typer carries its own copy of click."""
    names = {c.__name__ for c in type(exc).__mro__}
    for kind in ("Exit", "Abort", "ClickException"):
        if kind in names:
            return kind
    return None


def _safe_streams() -> bool:
    """On a terminal (or pipe) that cannot encode the output's symbols (·, ⚠, —) under
    PYTHONIOENCODING=ascii or a C locale, print '?' for them instead of failing. False when
    standard output is closed (`>&-`: Python sets sys.stdout to None)."""
    if sys.stderr is None:  # `2>&-`: messages go nowhere, the exit code still tells
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the life of the process
    for stream in (sys.stdout, sys.stderr):
        enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if enc and not enc.startswith("utf"):
            try:
                stream.reconfigure(errors="replace")  # type: ignore[union-attr]
            except (AttributeError, ValueError):  # not a TextIOWrapper (tests' StringIO): nothing to do
                pass
    return sys.stdout is not None


def _output_broken(exc: OSError) -> bool:
    """Whether `exc` is standard output refusing what is printed (`> /dev/full`, a full disk under
    `> out.txt`): a write error that names no file (a failed open names its file; a download maps
    its own). Standard output is then pointed at /dev/null, so that the exit does not fail a second time."""
    import errno

    if exc.filename is not None or exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF):
        return False
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return True


def main() -> None:
    if not _safe_streams():
        typer.echo("Error: standard output is closed: there is nowhere to print the answer", err=True)
        typer.echo("Hint: send it to a file or to /dev/null instead of closing it (> out.txt)", err=True)
        sys.exit(1)
    try:
        rv = build_app(_command_in(sys.argv[1:]))(standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except VlmselectError as exc:
        if _debug():
            raise
        typer.echo(f"Error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"Hint: {exc.hint}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        code = 130
    except BrokenPipeError:  # `vlmselect ... | head`: the reader left; not an error of ours
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        except (OSError, ValueError):
            pass
        code = 141  # 128 + SIGPIPE, as a tool killed by the signal would report
    except Exception as exc:
        kind = _kind(exc)
        if kind == "Exit":
            code = getattr(exc, "exit_code", 1)
        elif kind == "ClickException":  # bad flag values, missing options: click's own message, exit 2
            exc.show()  # type: ignore[attr-defined]
            code = getattr(exc, "exit_code", 2)
        elif kind == "Abort":
            typer.echo("Aborted.", err=True)
            code = 130
        elif isinstance(exc, OSError) and _output_broken(exc):  # a full disk under `> file`, not a bug of ours
            typer.echo(f"Error: cannot write the output: {exc.strerror or exc}", err=True)
            typer.echo("Hint: check where standard output goes (a full disk, a closed descriptor)", err=True)
            code = 1
        elif _debug():  # a bug of ours: say so, without a traceback unless asked
            raise
        else:
            typer.echo(f"Error: internal error: {type(exc).__name__}: {exc}", err=True)
            typer.echo("Hint: run again with --debug (or VLMSELECT_DEBUG=1) for the traceback, and report it", err=True)
            code = 1
        sys.exit(code)
    sys.exit(code)


__all__ = ["build_app", "main"]
