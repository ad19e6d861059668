"""`vlmselect plan`: images per hour, replicas for a deadline, cost at volume, and what to run."""


from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from vlmselect.cli_options import (CatalogOpt, ContextOpt, GpuCountOpt, GpuOpt, JsonOpt, NewTokOpt, RamOpt,
                           ResOpt, VramOpt, _catalog, _hardware, _workload,
                           FlashOpt, KvCacheOpt, RunnerVersionOpt, _runtime)
from vlmselect.errors import UsageError

if TYPE_CHECKING:
    from vlmselect.catalog import Catalog


def plan(
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="Plan the best models for this task.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Plan this model.")] = None,
    volume: Annotated[Optional[int], typer.Option("--images", "-n", help="Images in the job (with --within).")] = None,
    within: Annotated[Optional[str], typer.Option("--within", help="Deadline: 90m, 24h, 3d, 1w.")] = None,
    rate: Annotated[Optional[float], typer.Option("--rate", help="Steady arrivals, images per second.")] = None,
    nodes: Annotated[int, typer.Option("--nodes", help="Machines, each with --gpu-count GPUs.", rich_help_panel="Hardware")] = 1,
    power_price: Annotated[Optional[float], typer.Option("--power-price", help="Electricity, USD per kWh.")] = None,
    gpu_hour_price: Annotated[Optional[float], typer.Option("--gpu-hour-price", help="Rented GPU, USD per GPU-hour.")] = None,
    gpu_price: Annotated[Optional[float], typer.Option("--gpu-price", help="Owned GPU, purchase USD per GPU (amortised cost, break-even volume).")] = None,
    amortize_years: Annotated[float, typer.Option("--amortize-years", help="Years to spread --gpu-price over (default 5: IRS Pub. 946).")] = 5.0,
    write_pipeline: Annotated[Optional[Path], typer.Option("--write-pipeline", help="Write a resumable Ray Data batch script for the top plan.")] = None,
    top: Annotated[int, typer.Option("--top", help="How many plans to show.")] = 3,
    explain: Annotated[bool, typer.Option("--explain", help="Show the basis of each number and the throughput curve.")] = False,
    json_out: JsonOpt = False,
    catalog: CatalogOpt = None,
    gpu: GpuOpt = None, gpu_count: GpuCountOpt = 1, vram: VramOpt = None, ram: RamOpt = None,
    per_request: Annotated[Optional[int], typer.Option("--per-request", help="Images per request (default: the task's, else 1).", rich_help_panel="Workload")] = None,
    context: ContextOpt = 256, resolution: ResOpt = "1024x1024", max_new_tokens: NewTokOpt = 256,
    runner_version: RunnerVersionOpt = None, flash_attention: FlashOpt = None, kv_cache: KvCacheOpt = "f16",
) -> None:
    """Plan work at volume: images per hour per vLLM replica, GPUs and nodes for a deadline, $ per image vs APIs."""
    from vlmselect import plan as P
    from vlmselect import render_plan

    if (task is None) == (model is None):
        raise UsageError("give --task or --model (one of them)", "for example: vlmselect plan --task ocr --images 200000 --within 24h")
    if rate is not None and (volume is not None or within is not None):
        raise UsageError("--rate excludes --images/--within", "plan a pile (--images N --within 24h) or a rate (--rate 5)")
    if (volume is None) != (within is None) and rate is None:
        raise UsageError("--images and --within go together", "for example --images 200000 --within 24h")
    if volume is not None and volume < 1:
        raise UsageError(f"--images must be at least 1, got {volume}", "for example --images 200000")
    if rate is not None and not rate > 0:
        raise UsageError(f"--rate must be above 0, got {rate}", "for example --rate 5")
    for flag, v in (("--power-price", power_price), ("--gpu-hour-price", gpu_hour_price), ("--gpu-price", gpu_price)):
        if v is not None and not (0 <= v < 1e9):
            raise UsageError(f"{flag} must be 0 or more, got {v}", f"for example {flag} 0.15")
    if not 0 < amortize_years <= 50:
        raise UsageError(f"--amortize-years must be above 0 and at most 50, got {amortize_years}", "for example --amortize-years 3")
    if nodes < 1 or top < 1:
        raise UsageError("--nodes and --top must be at least 1", "for example --nodes 2")
    cat = _catalog(catalog)
    t = cat.task(task) if task else None
    rt = _runtime("vllm", runner_version, flash_attention, kv_cache)  # plans are vLLM replicas
    wl = _workload(context, per_request, resolution, max_new_tokens, default_images=(t.images if t else None) or 1,
                   video=bool(t and t.video))._replace(runtime=rt)
    hw = _hardware(cat, gpu, gpu_count, vram, ram, False)
    vol = P.Volume(images=volume, within_s=P.parse_duration(within) if within else None, rate_per_s=rate)
    costs = P.Costs(power_price_usd_kwh=P.DEFAULT_POWER_PRICE if power_price is None else power_price,
                    gpu_hour_price_usd=gpu_hour_price, gpu_price_usd=gpu_price, amortize_years=amortize_years)
    plans, apis, skipped = P.make_plans(cat, hw, t, model, wl, vol, nodes, costs, top)
    if not plans and not apis:
        raise UsageError("nothing to plan: no model with vLLM support fits, and no API does the task",
                         "try more GPUs (--gpu-count), a larger card (--gpu), or --explain")
    written = None
    if write_pipeline and plans:
        from vlmselect.deploy import write_pipeline as emit

        written = emit(write_pipeline, plans[0], wl)
    data = render_plan.plan_json(t, model, hw, wl, vol, plans, apis, skipped, nodes, written)
    if json_out:
        from vlmselect.render import print_json

        print_json(data)
    else:
        render_plan.print_plan(data, explain)


def bench(
    server: Annotated[str, typer.Option("--server", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Served model name (default: the server's first).")] = None,
    concurrency: Annotated[str, typer.Option("--concurrency", help="Requests in flight, e.g. 1,4,16.")] = "1,2,4,8",
    requests: Annotated[Optional[int], typer.Option("--requests", help="Requests per level (default: 2 x concurrency, at least 4).")] = None,
    max_new_tokens: NewTokOpt = 128,
    catalog_id: Annotated[Optional[str], typer.Option("--id", help="The catalog model this server runs (for plan).")] = None,
    gpu: GpuOpt = None,
    json_out: JsonOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Measure a running server: images/s, tokens/s and latency at rising concurrency (recorded for plan)."""
    from vlmselect.bench import bench as run

    try:
        levels = [int(x) for x in concurrency.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--concurrency must be numbers separated by commas, got {concurrency!r}",
                         "for example --concurrency 1,4,16") from None
    if requests is not None and requests < 1:
        raise UsageError("--requests must be at least 1", "for example --requests 32")
    cat = _catalog(catalog)
    cid = cat.model(catalog_id).id if catalog_id else None
    gpu_name = cat.gpu(gpu).name if gpu else _local_gpu_name(cat)
    res = run(server, model, levels, requests, max_new_tokens, gpu=gpu_name, catalog_id=cid)
    if json_out:
        from vlmselect.render import print_json

        print_json(res.to_json())
        return
    from vlmselect.render import console

    c = console()
    c.print(f"{res.model} at {res.server}" + (f" on {res.gpu}" if res.gpu else ""), markup=False)
    for lv in res.levels:
        c.print(f"  {lv.concurrency:>4} in flight: {lv.images_per_s * 3600:>9,.0f} images/h  {lv.tokens_per_s:>8.1f} tok/s"
                f"  p50 {lv.latency_p50_s}s  p90 {lv.latency_p90_s}s  TTFT p50 {lv.ttft_p50_s}s"
                f"  passed {lv.passed}/{lv.ok}" + (f"  errors: {'; '.join(lv.errors)}" if lv.errors else ""),
                markup=False)
    c.print(f"recorded: {res.record}" if res.record else f"record {res.record_error}", markup=False)


def _local_gpu_name(cat: "Catalog") -> str | None:
    """The first GPU of this machine, for the record (a bench of a remote server should name --gpu)."""
    from vlmselect.hardware import probe

    gpus = probe().usable_gpus
    return gpus[0].name if gpus else None
