"""When NVML is absent: nvidia-smi, AMD (amdsmi / rocm-smi), Apple Silicon. Parsers are pure;
each runner of a tool has a timeout, so a hung tool never hangs the probe."""

from __future__ import annotations

import json
import shutil
import subprocess

from vlmselect.hardware.types import GpuInfo
from vlmselect.units import GIB, MIB

NVIDIA_SMI_QUERY = "index,name,uuid,memory.total,memory.free,memory.used,compute_cap,driver_version"

# GPUStack treats 75% of unified memory as GPU-usable (shared/reference/gpus.md, S35);
# measured shares run 65-84%, higher on large Macs. Read iogpu.wired_limit_mb when set.
APPLE_GPU_SHARE = 0.75


def run_tool(argv: list[str], timeout: float) -> str | None:
    """stdout of a tool, or None when it is missing, fails or exceeds `timeout` seconds."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (subprocess.TimeoutExpired, OSError):
        return None
    return out.stdout if out.returncode == 0 else None


def _num(s: str) -> float | None:
    s = s.strip()
    try:
        return float(s)
    except ValueError:
        return None  # "[N/A]", "[Not Supported]"


def parse_nvidia_smi(csv_text: str) -> tuple[list[GpuInfo], str | None]:
    """`nvidia-smi --query-gpu=<NVIDIA_SMI_QUERY> --format=csv,noheader,nounits` -> GPUs, driver."""
    gpus, driver = [], None
    for line in csv_text.strip().splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 8:
            continue
        total, free, used = (_num(c) for c in cols[3:6])
        driver = cols[7] or driver
        cc = cols[6] if _num(cols[6]) is not None else None
        gpus.append(GpuInfo(
            index=int(_num(cols[0]) or 0), name=cols[1], uuid=cols[2] or None,
            vram_total_gib=total * MIB / GIB if total is not None else None,
            vram_free_gib=free * MIB / GIB if free is not None else None,
            vram_used_gib=used * MIB / GIB if used is not None else None,
            compute_capability=cc, bf16=(float(cc) >= 8.0) if cc else None,
        ))
    return gpus, driver


def parse_rocm_smi(json_text: str) -> list[GpuInfo]:
    """`rocm-smi --showproductname --showmeminfo vram --json` -> GPUs."""
    data = json.loads(json_text)
    gpus: list[GpuInfo] = []
    for key in sorted(k for k in data if k.startswith("card")):
        card = data[key]
        total = _num(str(card.get("VRAM Total Memory (B)", "")))
        used = _num(str(card.get("VRAM Total Used Memory (B)", "")))
        names = (card.get(k) for k in ("Card Series", "Card series", "Card SKU"))
        name = next((n for n in names if n and str(n).strip() != "N/A"), "AMD GPU")  # newer rocm-smi: "N/A"
        gpus.append(GpuInfo(
            index=int(key[4:]) if key[4:].isdigit() else len(gpus), name=str(name), vendor="amd",
            vram_total_gib=total / GIB if total else None,
            vram_used_gib=used / GIB if used is not None else None,
            vram_free_gib=(total - used) / GIB if total and used is not None else None,
        ))
    return gpus


def parse_apple_sysctl(memsize: str, brand: str, wired_limit_mb: str | None) -> GpuInfo:
    """Apple Silicon from `sysctl -n hw.memsize`, `machdep.cpu.brand_string`, `iogpu.wired_limit_mb`."""
    total = int(memsize.strip()) / GIB
    limit = _num(wired_limit_mb or "") or 0
    usable = limit * MIB / GIB if limit > 0 else total * APPLE_GPU_SHARE
    share = "iogpu.wired_limit_mb" if limit > 0 else f"{APPLE_GPU_SHARE:.0%} of unified memory (default working set)"
    return GpuInfo(index=0, name=brand.strip(), vendor="apple", vram_total_gib=usable, vram_free_gib=None,
                   unified_memory=True, bf16=True, detail=f"GPU-usable memory: {share}")


def probe_nvidia_smi(timeout: float) -> tuple[list[GpuInfo], str | None] | None:
    import time

    start = time.perf_counter()
    out = run_tool(["nvidia-smi", f"--query-gpu={NVIDIA_SMI_QUERY}", "--format=csv,noheader,nounits"], timeout)
    left = timeout - (time.perf_counter() - start)
    if out is None and left > 0.1:
        # Drivers before ~R510 reject the compute_cap field: ask again without it.
        old = NVIDIA_SMI_QUERY.replace("compute_cap", "pci.bus_id")
        out = run_tool(["nvidia-smi", f"--query-gpu={old}", "--format=csv,noheader,nounits"], left)
    return parse_nvidia_smi(out) if out else None


def probe_amd(timeout: float) -> tuple[list[GpuInfo], str] | None:
    try:
        import amdsmi
    except ImportError:
        amdsmi = None
    if amdsmi is not None:
        try:
            amdsmi.amdsmi_init()
            gpus = []
            for i, h in enumerate(amdsmi.amdsmi_get_processor_handles()):
                info = amdsmi.amdsmi_get_gpu_asic_info(h)
                total = amdsmi.amdsmi_get_gpu_memory_total(h, amdsmi.AmdSmiMemoryType.VRAM)
                used = amdsmi.amdsmi_get_gpu_memory_usage(h, amdsmi.AmdSmiMemoryType.VRAM)
                gpus.append(GpuInfo(index=i, name=str(info.get("market_name", "AMD GPU")), vendor="amd",
                                    vram_total_gib=total / GIB, vram_used_gib=used / GIB,
                                    vram_free_gib=(total - used) / GIB))
            amdsmi.amdsmi_shut_down()
            return gpus, "amdsmi"
        except Exception:  # amdsmi raises its own exception types per version
            pass
    out = run_tool(["rocm-smi", "--showproductname", "--showmeminfo", "vram", "--json"], timeout)
    if out:
        try:
            return parse_rocm_smi(out), "rocm-smi"
        except (ValueError, KeyError):
            return None
    return None


def probe_apple(timeout: float) -> GpuInfo | None:
    import platform

    if platform.system() != "Darwin" or platform.machine() != "arm64":
        return None
    mem = run_tool(["sysctl", "-n", "hw.memsize"], timeout)
    brand = run_tool(["sysctl", "-n", "machdep.cpu.brand_string"], timeout)
    if not mem or not brand:
        return None
    return parse_apple_sysctl(mem, brand, run_tool(["sysctl", "-n", "iogpu.wired_limit_mb"], timeout))
