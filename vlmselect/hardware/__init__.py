"""The machine: probed (NVML first, then fallbacks), or described on the command line."""

from __future__ import annotations

import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlmselect.errors import UsageError
from vlmselect.hardware.types import GpuInfo, GpuProcess, HardwareProfile

__all__ = ["GpuInfo", "GpuProcess", "HardwareProfile", "probe", "build_profile", "model_dirs"]

from vlmselect.units import GIB

if TYPE_CHECKING:
    from collections.abc import Callable

    from vlmselect.catalog import Catalog, GpuSpec
TOOL_TIMEOUT_S = 1.5  # one fallback tool at most
PROBE_BUDGET_S = 1.8  # all fallback tools together: the whole probe answers within ~2 s


def model_dirs() -> dict[str, Path]:
    """Where models land: Ollama's models directory and the Hugging Face hub cache
    (resolved as huggingface_hub resolves it, `~` and $VARS expanded)."""
    from vlmselect.paths import hf_hub_cache, ollama_models_dir

    return {"ollama": ollama_models_dir(), "huggingface": hf_hub_cache()}


def free_disk_gib(path: Path) -> float | None:
    """Free space on the file system that holds `path` (or its nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free / GIB
    except OSError:
        return None


def _meminfo() -> tuple[float, float] | None:
    """(total, available) GiB from /proc/meminfo: what psutil reads on Linux, without importing it."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:  # ASCII; utf-8's codec is loaded already
            kv = dict(line.split(":", 1) for line in f if ":" in line)
        return int(kv["MemTotal"].split()[0]) * 1024 / GIB, int(kv["MemAvailable"].split()[0]) * 1024 / GIB
    except (OSError, KeyError, ValueError):
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def _system() -> dict[str, Any]:
    mem = _meminfo()
    if mem is None:  # not Linux: psutil knows every platform
        import psutil

        vm = psutil.virtual_memory()
        mem = (vm.total / GIB, vm.available / GIB)
    return {
        "ram_total_gib": mem[0], "ram_available_gib": mem[1],
        "cpu_name": _cpu_name(), "cpu_cores": os.cpu_count(),
        "disk_free_gib": {k: free_disk_gib(v) for k, v in model_dirs().items()},
    }


def probe(bandwidth_lookup: Callable[[str], GpuSpec | None] | None = None) -> HardwareProfile:
    """Read this machine. Never raises: what could not be read is said in `notes`."""
    from vlmselect.hardware import fallbacks
    from vlmselect.hardware.nvml import NvmlUnavailable, probe_nvml

    start = time.perf_counter()
    notes: list[str] = []
    gpus: list[GpuInfo] = []
    source, driver, cuda = "none", None, None
    try:
        gpus, sysinfo = probe_nvml(bandwidth_lookup)
        source, driver, cuda = "nvml", sysinfo["driver_version"], sysinfo["cuda_driver_version"]
        if not gpus:
            notes.append("NVML found no visible GPU" + (" (CUDA_VISIBLE_DEVICES hides them)"
                                                        if "CUDA_VISIBLE_DEVICES" in os.environ else ""))
    except NvmlUnavailable as exc:
        notes.append(exc.reason)

        def budget() -> float:
            return min(TOOL_TIMEOUT_S, PROBE_BUDGET_S - (time.perf_counter() - start))

        smi = fallbacks.probe_nvidia_smi(budget()) if shutil.which("nvidia-smi") else None
        if smi and smi[0]:
            gpus, driver = smi
            source = "nvidia-smi"
            gpus = [_with_preset(g, bandwidth_lookup) for g in gpus]
        else:
            amd = fallbacks.probe_amd(budget()) if budget() > 0.05 else None
            if amd and amd[0]:
                gpus, source = [_with_preset(g, bandwidth_lookup) for g in amd[0]], amd[1]
            else:
                apple = fallbacks.probe_apple(budget()) if budget() > 0.05 else None
                if apple:
                    gpus, source = [_with_preset(apple, bandwidth_lookup)], "apple"
                elif budget() <= 0.05:
                    notes.append("GPU tools did not answer in time")
    lost = [g for g in gpus if g.status != "ok"]
    if lost:
        notes.append(f"{len(lost)} GPU(s) could not be read: " + "; ".join(g.detail for g in lost))
    if source == "none":
        notes.append("no GPU found: CPU-only estimates")
    return HardwareProfile(source=source, gpus=tuple(gpus), driver_version=driver, cuda_driver_version=cuda,
                           notes=tuple(notes), probe_s=time.perf_counter() - start, **_system())


def _with_preset(g: GpuInfo, lookup: Callable[[str], GpuSpec | None] | None) -> GpuInfo:
    preset = lookup(g.name) if lookup else None
    if not preset:
        return g
    return g._replace(bandwidth_gbps=g.bandwidth_gbps or preset.bandwidth_gbps,
                   fp16_tflops=g.fp16_tflops or preset.fp16_tflops,
                   compute_capability=g.compute_capability or preset.compute_capability,
                   bf16=g.bf16 if g.bf16 is not None else preset.bf16)


def check_size(name: str, value: float | None) -> None:
    """Sizes typed for a card are its marketed GB, which for GPU memory are binary units:
    NVML reports a "24 GB" RTX 3090 as 24576 MiB = 24.0 GiB. So they are taken as GiB."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise UsageError(f"{name} must be a positive number of GB, got {value:g}", f"for example {name} 24")
    if value is not None and value > MAX_SIZE_GIB:
        raise UsageError(f"{name} {value:g} GB is more than any machine has", f"use at most {MAX_SIZE_GIB} GB")


MAX_SIZE_GIB = 65536  # 64 TiB: no single GPU or host holds more
# A described machine's RAM when --ram is not given: twice its GPU memory, at least 16 GiB. An
# engineering default [I], said in the output; never the RAM of the machine the command runs on.
DESCRIBED_RAM_FACTOR = 2.0
DESCRIBED_RAM_MIN_GIB = 16.0
_VARIANT = re.compile(r"\b(\d+\s?gb|pcie|sxm\d?|nvl)\b")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


def ambiguous_gpu(catalog: Catalog, typed: str, spec: GpuSpec) -> list[str]:
    """The presets a typed name could mean when it leaves out the memory size: '4060 ti' (8 or 16 GB),
    'a100' (40 or 80 GB). Empty when the name is specific or its variants share one memory size."""
    def norm(s: str) -> str:
        return _SPACES.sub(" ", _NOT_ALNUM.sub(" ", s.lower().replace("nvidia", "").replace("geforce", ""))).strip()

    key = norm(typed)
    if _VARIANT.search(key):
        return []

    def base(s: str) -> str:
        return _SPACES.sub(" ", _VARIANT.sub(" ", norm(s))).strip()

    same = [g for g in catalog.gpus.values()
            if key in {base(n) for n in (g.id, g.name, *g.aliases)}]
    variants = {g.vram_gib for g in same}  # memory decides fit; a form factor of one size is the catalog's call
    sized = re.search(r"\b\d+\s?gb\b", norm(spec.id)) is not None  # the preset names one memory size of several
    if len(variants) > 1 or (sized and len(same) >= 1):
        return sorted(g.id for g in same) or [spec.id]
    return []


def build_profile(catalog: Catalog, *, gpu: str | None = None, gpu_count: int = 1, vram: float | None = None,
                  ram: float | None = None, cpu_only: bool = False, probe_fn: Callable[[], HardwareProfile] | None = None,
                  system_fn: Callable[[], dict[str, Any]] | None = None) -> HardwareProfile:
    """The hardware every fit judgement uses: a preset, a manual description, or the probe.

    A described machine (--gpu, --vram, --cpu-only) never probes and never reads this machine's
    RAM: it takes --ram, else the preset's unified memory (Apple), else a stated default
    (DESCRIBED_RAM_FACTOR x its GPU memory). CPU cores and disk still come from this machine.
    """
    if gpu_count < 1:
        raise UsageError(f"--gpu-count must be at least 1, got {gpu_count}", "for example --gpu-count 2")
    if gpu_count > 64:
        raise UsageError(f"--gpu-count {gpu_count} is more GPUs than one machine holds", "use at most 64")
    check_size("--vram", vram)
    check_size("--ram", ram)
    if cpu_only and (gpu or vram):
        raise UsageError("--cpu-only cannot be combined with --gpu or --vram", "drop one of them")

    spec = catalog.gpu(gpu) if gpu else None  # an unknown name fails before any probing
    if spec is not None and vram is None:
        choices = ambiguous_gpu(catalog, gpu or "", spec)
        if choices:
            which = ("give one of: " + ", ".join(choices) if len(choices) > 1 else
                     f"the catalog has only {choices[0]}: name it, or give --vram GB for another memory size")
            raise UsageError(f"--gpu {gpu!r} names a card sold in more than one memory size",
                             which + " (or add --vram GB)" * (len(choices) > 1))
    described = bool(gpu or vram or cpu_only)
    notes: list[str] = []
    if not described:
        prof = (probe_fn or (lambda: probe(catalog.gpu_by_name)))()
        if gpu_count > 1 and prof.gpus:
            # Planning a second identical card: copy the first (its free memory as total).
            first = prof.gpus[0]
            extra = tuple(_copy_gpu(first, i, free=first.vram_total_gib) for i in range(len(prof.gpus), gpu_count))
            prof = prof.with_(gpus=prof.gpus + extra, notes=prof.notes + (f"planning {gpu_count} x {first.name}",))
    elif cpu_only:
        prof = HardwareProfile(source="manual", gpus=(), notes=("--cpu-only: no GPU used",))
    else:
        gpus = []
        if spec:
            total = float(vram) if vram else spec.vram_gib
            usable_total = total
            if spec.unified_memory and not vram:
                # Metal lets the GPU wire only part of unified memory (recommendedMaxWorkingSetSize):
                # the probe's default share, unless --vram says otherwise.
                from vlmselect.hardware.fallbacks import APPLE_GPU_SHARE

                usable_total = total * APPLE_GPU_SHARE
                notes.append(f"{spec.name}: GPU may use {APPLE_GPU_SHARE:.0%} of {total:g} GiB unified memory"
                             " (Metal recommendedMaxWorkingSetSize default; --vram overrides)")
            for i in range(gpu_count):
                gpus.append(GpuInfo(
                    index=i, name=spec.name, vendor=spec.vendor, vram_total_gib=usable_total, vram_free_gib=None,
                    bandwidth_gbps=spec.bandwidth_gbps, compute_capability=spec.compute_capability,
                    fp16_tflops=spec.fp16_tflops, bf16=spec.bf16, unified_memory=spec.unified_memory,
                ))
            source = "preset"
        else:
            for i in range(gpu_count):
                gpus.append(GpuInfo(index=i, name=f"GPU with {vram:g} GB", vram_total_gib=float(vram or 0)))
            source = "manual"
            notes.append("--vram without --gpu: memory bandwidth unknown, so no speed estimate (give --gpu NAME)")
        prof = HardwareProfile(source=source, gpus=tuple(gpus))
    if described:
        sysinfo = dict((system_fn or _system)())
        if ram is None:
            if cpu_only:
                ram_total = sysinfo.get("ram_total_gib")  # the CPU machine is this one unless --ram says otherwise
                ram_avail = sysinfo.get("ram_available_gib")
            elif spec is not None and spec.unified_memory:
                ram_total = ram_avail = float(vram) if vram else spec.vram_gib
                notes.append(f"RAM: the preset's {ram_total:g} GiB unified memory (--ram overrides)")
            else:
                gpu_mem = sum(g.vram_total_gib or 0 for g in prof.gpus)
                ram_total = ram_avail = max(DESCRIBED_RAM_FACTOR * gpu_mem, DESCRIBED_RAM_MIN_GIB)
                notes.append(f"RAM assumed {ram_total:g} GiB ({DESCRIBED_RAM_FACTOR:g} x GPU memory, at least "
                             f"{DESCRIBED_RAM_MIN_GIB:g}); pass --ram for the real figure")
            sysinfo.update(ram_total_gib=ram_total, ram_available_gib=ram_avail)
        prof = prof.with_(**sysinfo)
    if ram is not None:
        prof = prof.with_(ram_total_gib=float(ram), ram_available_gib=float(ram))
    if notes:
        prof = prof.with_(notes=prof.notes + tuple(notes))
    return prof


def _copy_gpu(g: GpuInfo, index: int, free: float | None) -> GpuInfo:
    return g._replace(index=index, uuid=None, vram_free_gib=free, vram_used_gib=None, processes=())
