"""The command line: parse -> call -> render. Errors become a message, a hint and an exit code."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from vlmselect import __version__
from vlmselect.errors import UsageError, VlmselectError

APP_HELP = "Choose a vision-language model for your GPU and your task, then get it running."

_state: dict[str, list[Path]] = {"catalog": []}

# ---------------------------------------------------------------- shared options

CatalogOpt = Annotated[Optional[list[Path]], typer.Option("--catalog", help="Extra catalog YAML file or folder (overlays the shipped one by id).")]
GpuOpt = Annotated[Optional[str], typer.Option("--gpu", help="Plan for a GPU preset, e.g. 'RTX 3090' (see catalog/gpus.yaml).", rich_help_panel="Hardware")]
GpuCountOpt = Annotated[int, typer.Option("--gpu-count", help="Number of GPUs.", rich_help_panel="Hardware")]
VramOpt = Annotated[Optional[float], typer.Option("--vram", help="VRAM per GPU in GB (overrides preset / probe).", rich_help_panel="Hardware")]
RamOpt = Annotated[Optional[float], typer.Option("--ram", help="System RAM in GB.", rich_help_panel="Hardware")]
CpuOnlyOpt = Annotated[bool, typer.Option("--cpu-only", help="Plan for CPU only.", rich_help_panel="Hardware")]
ContextOpt = Annotated[int, typer.Option("--context", help="Text tokens per request.", rich_help_panel="Workload")]
ImagesOpt = Annotated[Optional[int], typer.Option("--images", help="Images per request (default 1; video tasks: frames).", rich_help_panel="Workload")]
ResOpt = Annotated[str, typer.Option("--resolution", help="Image size WxH.", rich_help_panel="Workload")]
NewTokOpt = Annotated[int, typer.Option("--max-new-tokens", help="Tokens generated per answer.", rich_help_panel="Workload")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
RunnerVersionOpt = Annotated[Optional[str], typer.Option("--runner-version", help="Runner version to estimate for (default: the one installed here, else the newest known).", rich_help_panel="Runtime")]
FlashOpt = Annotated[Optional[str], typer.Option("--flash-attention", help="on | off (default: the runner's own default).", rich_help_panel="Runtime")]
KvCacheOpt = Annotated[str, typer.Option("--kv-cache", help="f16 | q8_0 | q4_0 | fp8", rich_help_panel="Runtime")]
SvgOpt = Annotated[Optional[Path], typer.Option("--svg", help="Also write the picture to this SVG file.")]


def _catalog(extra: list[Path] | None = None):
    from vlmselect.catalog import load_catalog

    return load_catalog(list(_state["catalog"]) + list(extra or []))


def _workload(context: int, images: int | None, resolution: str, max_new_tokens: int, default_images: int = 1,
              video: bool = False):
    from vlmselect.memory import Workload

    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", resolution)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise UsageError(f"--resolution must be WIDTHxHEIGHT, got {resolution!r}", "for example --resolution 1024x768")
    if context < 1:
        raise UsageError(f"--context must be at least 1, got {context}", "for example --context 4096")
    if max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens must be at least 1, got {max_new_tokens}", "for example --max-new-tokens 256")
    if images is not None and images < 0:
        raise UsageError(f"--images must be 0 or more, got {images}", "for example --images 1")
    w, h = int(m.group(1)), int(m.group(2))
    if w > 32768 or h > 32768:
        raise UsageError(f"--resolution {w}x{h} is larger than any model takes", "use at most 32768 per side")
    return Workload(context=context, images=default_images if images is None else images,
                    width=w, height=h, max_new_tokens=max_new_tokens, video=video)


def _runtime(runner: str | None, version: str | None, flash: str | None, kv_cache: str):
    """Runtime options, checked against the runner when one is named (exit 2 on a bad value)."""
    from vlmselect.runtimes import KV_CACHE_TYPES, RuntimeOptions, resolve

    if flash is not None and flash.lower() not in ("on", "off"):
        raise UsageError(f"--flash-attention must be on or off, got {flash!r}", "for example --flash-attention on")
    if kv_cache.lower() not in KV_CACHE_TYPES:
        raise UsageError(f"--kv-cache must be one of {', '.join(KV_CACHE_TYPES)}, got {kv_cache!r}",
                         "for example --kv-cache q8_0")
    if version is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,39}", version):
        raise UsageError(f"--runner-version {version!r} is not a version", "for example --runner-version 0.13.4")
    opts = RuntimeOptions(version=version, flash_attention=flash.lower() if flash else None, kv_cache=kv_cache.lower())
    if runner is not None:
        resolve(runner, opts)
    return opts


def _hardware(cat, gpu, gpu_count, vram, ram, cpu_only):
    from vlmselect.hardware import build_profile

    return build_profile(cat, gpu=gpu, gpu_count=gpu_count, vram=vram, ram=ram, cpu_only=cpu_only)


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} must be a date YYYY-MM-DD, got {value!r}", f"for example {flag} 2024-11-01") from None


def _choice(value: str | None, choices, flag: str) -> str | None:
    if value is None:
        return None
    v = value.lower()
    if v not in choices:
        from vlmselect.errors import unknown

        raise unknown(flag.lstrip("-"), value, choices, f"{flag}: one of {', '.join(choices)}")
    return v


def _runner(value: str | None) -> str | None:
    """--runner for recommend and estimate: any name of the runner vocabulary (hf, llamacpp ...)."""
    from vlmselect.runner_names import parse_runner

    return parse_runner(value).value if value is not None else None


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
):
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
):
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


def models(
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="Only models that can do this task, best first.")] = None,
    json_out: JsonOpt = False,
    catalog: CatalogOpt = None,
):
    """List the catalog: local models with estimated VRAM, and hosted APIs."""
    from vlmselect import render
    from vlmselect.catalog_views import model_vram, models_for_task
    from vlmselect.cost import api_cost
    from vlmselect.memory import Workload

    cat = _catalog(catalog)
    items = models_for_task(cat, cat.task(task)) if task else [*cat.models.values(), *cat.apis.values()]
    if json_out:
        render.print_json([render.model_row_json(m, model_vram(m) if m.kind == "local" else None) for m in items])
        return
    rows = [(m, model_vram(m) if m.kind == "local" else None, api_cost(m, Workload()).usd if m.kind == "api" else None)
            for m in items]
    render.print_models(rows, task)


def show(model: Annotated[str, typer.Argument(help="Model id or name.")], json_out: JsonOpt = False, catalog: CatalogOpt = None):
    """Show one model or API with every fact and its sources."""
    from vlmselect import render
    from vlmselect.catalog_views import model_vram

    cat = _catalog(catalog)
    m = cat.model(model)
    vram = model_vram(m) if m.kind == "local" else None
    if json_out:
        render.print_json(render.show_json(m, vram))
    else:
        render.print_show(m, vram)


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
):
    """Estimate memory (and speed, when a GPU is known) of one model at one quant, with a picture of what fills each card."""
    from vlmselect import render
    from vlmselect.catalog_views import estimate_one

    cat = _catalog(catalog)
    m = cat.model(model)
    if m.kind != "local":
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


def _svg(path: Path, title: str, draw, width: int = 80) -> None:
    """Draw once more on a colour console that records, and save that as SVG."""
    from vlmselect import viz

    c = viz.recording_console(width)
    draw(c)
    viz.save_svg(c, path, title)


def snippet(
    model: Annotated[str, typer.Argument(help="Model or API id or name.")],
    runner: Annotated[Optional[str], typer.Option("--runner", help="ollama | transformers | llama.cpp | vllm (local models; default: Ollama where it has a tag)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="python | curl")] = "python",
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="Sets the prompt (OCR, grounding in the model's box format, invoice JSON...).")] = None,
    image: Annotated[str, typer.Option("--image", help="Image path the code reads.")] = "image.jpg",
    video: Annotated[str, typer.Option("--video", help="Video tasks: the clip the code reads.")] = "video.mp4",
    quant: Annotated[Optional[str], typer.Option("--quant", help="Local: the quantization (default: what estimate picks here).")] = None,
    low_detail: Annotated[bool, typer.Option("--low-detail", help="APIs: the provider's cheaper image mode (OpenAI detail low, Gemini media_resolution low).")] = False,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow the repository's own Python code (transformers, vLLM).")] = False,
    json_out: JsonOpt = False,
    catalog: CatalogOpt = None,
    gpu: GpuOpt = None, gpu_count: GpuCountOpt = 1, vram: VramOpt = None, ram: RamOpt = None, cpu_only: CpuOnlyOpt = False,
    context: ContextOpt = 4096, images: ImagesOpt = None, resolution: ResOpt = "1024x1024", max_new_tokens: NewTokOpt = 256,
):
    """Print the shortest code that sends one image to a model or API, with advice on the image size."""
    from vlmselect import render
    from vlmselect.snippet_cli import make_snippet

    cat = _catalog(catalog)
    t = cat.task(task) if task else None
    wl = _workload(context, images, resolution, max_new_tokens, default_images=(t.images or 1) if t else 1,
                   video=bool(t and t.video))
    item = cat.model(model)
    hw = _hardware(cat, gpu, gpu_count, vram, ram, cpu_only) if item.kind == "local" else None
    rnr = _runner(runner)
    sn = make_snippet(cat, item, t, wl, hw, runner=rnr, lang=(lang or "").lower(), image=image, quant=quant,
                      low_detail=low_detail, trust_remote_code=trust_remote_code, video=video)
    if json_out:
        render.print_json(sn.to_json())
    else:
        render.print_snippet(sn)


def catalog_validate(path: Annotated[Path, typer.Argument(help="A catalog YAML file or a folder of them.")],
                     json_out: JsonOpt = False):
    """Validate catalog files: every problem with its file, line, id and field."""
    from vlmselect.catalog import validate_path

    count, problems = validate_path(path)
    if json_out:
        from vlmselect import render

        render.print_json({"path": str(path), "entries": count, "valid": not problems, "problems": problems})
        if problems:
            raise typer.Exit(2)
        return
    if problems:
        for p in problems:
            typer.echo(p, err=True)
        raise UsageError(f"{len(problems)} problem(s) in {path}", "the format is described in docs/catalog.md")
    typer.echo(f"{path}: {count} entries, all valid")


def catalog_stats(json_out: JsonOpt = False, catalog: CatalogOpt = None):
    """How current the catalog is: as-of date, counts, newest release per family, open questions."""
    from vlmselect import render
    from vlmselect.catalog_stats import catalog_stats as stats

    st = stats(_catalog(catalog))
    if json_out:
        render.print_json(st.to_json())
    else:
        render.print_catalog_stats(st)


# ---------------------------------------------------------------- entry point


COMMANDS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (recommend, models, show, estimate, snippet)}


def _register_extra() -> None:
    """Commands kept in modules of their own (they import this one for the shared options)."""
    from vlmselect.cli_plan import bench, plan
    from vlmselect.cli_run import doctor, pull, smoke

    COMMANDS.update(doctor=doctor, pull=pull, smoke=smoke, plan=plan, bench=bench)


_register_extra()


def build_app(only: str | None = None) -> typer.Typer:
    """The typer app. With `only`, just that command is registered: typer inspects every
    command's signature at start-up, and one command's is all a run needs."""
    app = typer.Typer(name="vlmselect", add_completion=False, no_args_is_help=True,
                      pretty_exceptions_enable=False, help=APP_HELP)
    app.callback()(_root)
    for name, fn in COMMANDS.items():
        if only in (None, name):
            app.command(name)(fn)
    if only in (None, "catalog"):
        catalog_app = typer.Typer(help="Check catalog files and see how current they are.", no_args_is_help=True)
        catalog_app.command("validate")(catalog_validate)
        catalog_app.command("stats")(catalog_stats)
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


def _safe_streams() -> None:
    """On a terminal (or pipe) that cannot encode the output's symbols (·, ⚠, —) under
    PYTHONIOENCODING=ascii or a C locale, print '?' for them instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if enc and not enc.startswith("utf"):
            try:
                stream.reconfigure(errors="replace")  # type: ignore[union-attr]
            except (AttributeError, ValueError):  # not a TextIOWrapper (tests' StringIO): nothing to do
                pass


def main() -> None:
    _safe_streams()
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
        elif _debug():  # a bug of ours: say so, without a traceback unless asked
            raise
        else:
            typer.echo(f"Error: internal error: {type(exc).__name__}: {exc}", err=True)
            typer.echo("Hint: run again with --debug (or VLMSELECT_DEBUG=1) for the traceback, and report it", err=True)
            code = 1
        sys.exit(code)
    sys.exit(code)


__all__ = ["build_app", "main"]
