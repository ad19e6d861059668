"""What the commands share: the common options, and the checks that turn flag values into the
estimator's inputs (exit 2 on a bad value). Light: the catalog, memory and hardware modules are
imported inside the helpers, so a command pays only for what it uses."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from vlmselect.errors import UsageError

if TYPE_CHECKING:  # for the annotations only: each helper imports what it uses when called
    from rich.console import Console

    from vlmselect.catalog import Catalog
    from vlmselect.hardware.types import HardwareProfile
    from vlmselect.memory import Workload
    from vlmselect.runtimes import RuntimeOptions

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


def _catalog(extra: list[Path] | None = None) -> Catalog:
    from vlmselect.catalog import load_catalog

    return load_catalog(list(_state["catalog"]) + list(extra or []))


def _workload(context: int, images: int | None, resolution: str, max_new_tokens: int, default_images: int = 1,
              video: bool = False) -> Workload:
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


def _runtime(runner: str | None, version: str | None, flash: str | None, kv_cache: str) -> RuntimeOptions:
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


def _hardware(cat: Catalog, gpu: str | None, gpu_count: int, vram: float | None, ram: float | None,
              cpu_only: bool) -> HardwareProfile:
    from vlmselect.hardware import build_profile

    return build_profile(cat, gpu=gpu, gpu_count=gpu_count, vram=vram, ram=ram, cpu_only=cpu_only)


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} must be a date YYYY-MM-DD, got {value!r}", f"for example {flag} 2024-11-01") from None


def _choice(value: str | None, choices: Sequence[str], flag: str) -> str | None:
    if value is None:
        return None
    v = value.lower()
    if v not in choices:
        from vlmselect.errors import unknown

        raise unknown(flag.lstrip("-"), value, choices, f"{flag}: one of {', '.join(choices)}")
    return v


def _runner(value: str | None) -> str | None:
    """--runner for recommend and estimate: any name of the runner vocabulary (hf, llamacpp ...)."""
    if value is None:
        return None
    from vlmselect.runner_names import parse_runner

    return parse_runner(value).value


def _svg(path: Path, title: str, draw: Callable[[Console], None], width: int = 80) -> None:
    """Draw once more on a colour console that records, and save that as SVG."""
    from vlmselect import viz

    c = viz.recording_console(width)
    draw(c)
    viz.save_svg(c, path, title)
