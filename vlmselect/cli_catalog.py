"""The commands that print catalog entries: `models`, `show`, `snippet` (an entry as code), and
`catalog validate` / `catalog stats`."""


from pathlib import Path
from typing import Annotated, Optional

import typer

from vlmselect.cli_options import (CatalogOpt, ContextOpt, CpuOnlyOpt, GpuCountOpt, GpuOpt, ImagesOpt, JsonOpt,
                                   NewTokOpt, RamOpt, ResOpt, VramOpt, _catalog, _hardware, _runner, _workload)
from vlmselect.errors import UsageError


def models(
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="Only models that can do this task, best first.")] = None,
    json_out: JsonOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """List the catalog: local models with estimated VRAM, and hosted APIs."""
    from vlmselect import render, render_catalog
    from vlmselect.catalog import ApiSpec, ModelSpec
    from vlmselect.catalog_views import model_vram, models_for_task
    from vlmselect.cost import api_cost
    from vlmselect.memory import Workload

    cat = _catalog(catalog)
    items: list[ModelSpec | ApiSpec] = (models_for_task(cat, cat.task(task)) if task
                                        else [*cat.models.values(), *cat.apis.values()])
    if json_out:
        render.print_json([render_catalog.model_row_json(m, model_vram(m) if isinstance(m, ModelSpec) else None) for m in items])
        return
    rows = [(m, model_vram(m) if isinstance(m, ModelSpec) else None, api_cost(m, Workload()).usd if isinstance(m, ApiSpec) else None)
            for m in items]
    render_catalog.print_models(rows, task)


def show(model: Annotated[str, typer.Argument(help="Model id or name.")], json_out: JsonOpt = False, catalog: CatalogOpt = None) -> None:
    """Show one model or API with every fact and its sources."""
    from vlmselect import render, render_catalog
    from vlmselect.catalog import ModelSpec
    from vlmselect.catalog_views import model_vram

    cat = _catalog(catalog)
    m = cat.model(model)
    vram = model_vram(m) if isinstance(m, ModelSpec) else None
    if json_out:
        render.print_json(render_catalog.show_json(m, vram))
    else:
        render_catalog.print_show(m, vram)


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
) -> None:
    """Print the shortest code that sends one image to a model or API, with advice on the image size."""
    from vlmselect import render, render_catalog
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
        render_catalog.print_snippet(sn)


def catalog_validate(path: Annotated[Path, typer.Argument(help="A catalog YAML file or a folder of them.")],
                     json_out: JsonOpt = False) -> None:
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


def catalog_stats(json_out: JsonOpt = False, catalog: CatalogOpt = None) -> None:
    """How current the catalog is: as-of date, counts, newest release per family, open questions."""
    from vlmselect import render, render_catalog
    from vlmselect.catalog_stats import catalog_stats as stats

    st = stats(_catalog(catalog))
    if json_out:
        render.print_json(st.to_json())
    else:
        render_catalog.print_catalog_stats(st)
