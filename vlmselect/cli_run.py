"""The commands that act on this machine: `doctor`, `pull`, `smoke`. Each calls a module that
returns data (DoctorReport, PullPlan/PullResult, SmokeResult) and renders it (render_runs)."""


import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from vlmselect.cli_options import (CatalogOpt, CpuOnlyOpt, GpuCountOpt, GpuOpt, JsonOpt, RamOpt, VramOpt, _catalog,
                           _hardware)


def doctor(json_out: JsonOpt = False, catalog: CatalogOpt = None) -> None:
    """Check the GPU, driver, RAM, disk, Ollama, torch, bitsandbytes and transformers, each with a fix."""
    from vlmselect import render
    from vlmselect.doctor import run_checks

    report = run_checks(_catalog(catalog))
    if json_out:
        render.print_json(report.to_json())
    else:
        from vlmselect.render_runs import print_doctor

        print_doctor(report)
    if report.failed:
        raise typer.Exit(1)


def pull(
    model: Annotated[str, typer.Argument(help="Model id or name.")],
    runner: Annotated[Optional[str], typer.Option("--runner", help="ollama | hf | llama.cpp | vllm (default: what recommend would pick)")] = None,
    quant: Annotated[Optional[str], typer.Option("--quant", help="Quantization (default: best that fits).")] = None,
    smoke_after: Annotated[bool, typer.Option("--smoke", help="Run the smoke test after the pull.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Pull even when it does not fit or the disk is short.")] = False,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow the repository's own Python code (smoke).")] = False,
    json_out: JsonOpt = False,
    catalog: CatalogOpt = None,
    gpu: GpuOpt = None, gpu_count: GpuCountOpt = 1, vram: VramOpt = None, ram: RamOpt = None, cpu_only: CpuOnlyOpt = False,
) -> None:
    """Download a model through Ollama or Hugging Face, after checking that it fits."""
    from vlmselect import render
    from vlmselect import render_runs as rr
    from vlmselect.errors import RuntimeFailure
    from vlmselect.pull import fetch, plan_pull, preflight, smoke_refusal

    cat = _catalog(catalog)
    hw = _hardware(cat, gpu, gpu_count, vram, ram, cpu_only)
    plan = plan_pull(cat, hw, model, runner, quant)
    refusal = smoke_refusal(plan, trust_remote_code) if smoke_after else None
    if refusal is not None:  # before the download, not after it
        raise refusal
    rr.print_pull_plan(plan)
    problems = preflight(plan)
    if problems and not force:
        raise RuntimeFailure("pre-flight check failed: " + "; ".join(problems),
                             "pick a smaller --quant (see `vlmselect estimate`), free space, or pass --force")
    for p in problems:
        rr.note(p, "warning (--force)")
    if plan.mode in ("offload", "cpu"):
        rr.note(f"it will run as {plan.mode}: slow (see `vlmselect estimate {plan.model.id}`)")
    # sys.stdin is None when it was closed (<&-): no one to ask, as with a pipe.
    if not yes and sys.stdin is not None and sys.stdin.isatty() and not typer.confirm(f"Download {plan.artifact}?", default=True):
        raise RuntimeFailure("cancelled", "pass --yes to skip the question")
    with rr.pull_progress(quiet=json_out) as on_progress:
        result = fetch(plan, on_progress)
    result.warnings = problems + result.warnings
    rr.print_pull_result(result, json_out)
    smoked = None
    if smoke_after:
        from vlmselect.smoke import smoke_model

        smoked = smoke_model(cat, result.target, runner=result.runner, quant=result.quant, hw=hw,
                             model_id=result.model_id, trust_remote_code=trust_remote_code,
                             warn=lambda text: rr.note(text, "warning"))
    if json_out:
        render.print_json({**result.to_json(), "smoke": smoked.to_json() if smoked else None})
    elif smoked:
        rr.print_smoke(smoked.record)
    if smoked is not None and not smoked.passed:
        raise typer.Exit(1)


def smoke(
    model: Annotated[str, typer.Argument(help="Catalog id, Ollama tag, Hugging Face repo id, local HF directory or .gguf file.")],
    runner: Annotated[Optional[str], typer.Option("--runner", help="ollama | hf | llama.cpp | vllm")] = None,
    server: Annotated[Optional[str], typer.Option("--server", help="Use this running OpenAI-compatible server (URL) instead of starting one.")] = None,
    ready_timeout: Annotated[Optional[float], typer.Option("--ready-timeout", help="Seconds to wait for a started server (llama.cpp 120, vllm 300).")] = None,
    quant: Annotated[Optional[str], typer.Option("--quant", help="hf runner: bf16, fp16, nf4 or int8.")] = None,
    image: Annotated[Optional[Path], typer.Option("--image", help="Your own image instead of the test card.")] = None,
    prompt: Annotated[Optional[str], typer.Option("--prompt", help="Prompt for --image.")] = None,
    expect: Annotated[Optional[str], typer.Option("--expect", help="Text the answer must contain (with --image).")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow the repository's own Python code.")] = False,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", help="Tokens to generate.")] = 128,
    json_out: JsonOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Prove a model works here: a generated test card, a scored answer, measured speed and VRAM."""
    from vlmselect import render
    from vlmselect import render_runs as rr
    from vlmselect.smoke import smoke_model

    cat = _catalog(catalog)
    res = smoke_model(cat, model, runner=runner, quant=quant, image=image, prompt=prompt, expect=expect,
                      trust_remote_code=trust_remote_code, max_new_tokens=max_new_tokens,
                      warn=lambda text: rr.note(text, "warning"), server=server, ready_timeout_s=ready_timeout)
    if json_out:
        render.print_json(res.to_json())
    else:
        rr.print_smoke(res.record)
    if not res.passed:
        raise typer.Exit(1)
