"""NVIDIA GPUs through NVML (nvidia-ml-py, module `pynvml`). The only module that imports it.

Every NVML call goes through `_query`, which turns NotSupported (and its kin) into None,
so a field a driver cannot report becomes "unknown" instead of a crash. A lost GPU becomes
a placeholder row and the others still count.
"""

from __future__ import annotations

import os

from vlmselect.hardware.types import GpuInfo, GpuProcess

GIB = 2**30
_LOST = object()  # handle placeholder: the GPU was lost before it could be opened


class NvmlUnavailable(Exception):
    """NVML could not start: `reason` says why in words a user can act on."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code  # library_not_found | driver_not_loaded | no_permission | error
        self.reason = reason


def _reason(pynvml, exc) -> tuple[str, str]:
    value = getattr(exc, "value", None)
    if value == pynvml.NVML_ERROR_LIBRARY_NOT_FOUND:
        return "library_not_found", "NVML library (libnvidia-ml.so.1) not found: no NVIDIA driver installed, or not visible in this container"
    if value == pynvml.NVML_ERROR_DRIVER_NOT_LOADED:
        return "driver_not_loaded", "NVIDIA driver not loaded (the kernel module is not running)"
    if value == pynvml.NVML_ERROR_NO_PERMISSION:
        return "no_permission", "no permission to talk to the NVIDIA driver (/dev/nvidia*)"
    return "error", f"NVML error: {exc}"


def _query(pynvml, fn, *args, default=None):
    """Call one NVML function; fields the driver cannot report come back as `default`."""
    try:
        return fn(*args)
    except pynvml.NVMLError as exc:
        if getattr(exc, "value", None) == pynvml.NVML_ERROR_GPU_IS_LOST:
            raise
        return default
    except pynvml.NVMLLibraryMismatchError:  # an older driver without this versioned call
        return default


def visible_indices(count: int, uuids: list[str | None], env: str | None) -> list[int]:
    """NVML indices CUDA would expose under CUDA_VISIBLE_DEVICES.

    Like CUDA: unset -> all; empty -> none; a comma list of indices or (prefixes of)
    UUIDs; parsing stops at the first entry that matches no device. MIG entries keep
    their parent GPU. The order is CUDA's (the list order).
    """
    if env is None:
        return list(range(count))
    out: list[int] = []
    for raw in env.split(","):
        item = raw.strip()
        if not item:
            break
        if item.lstrip("-").isdigit():
            i = int(item)
            if i < 0 or i >= count:
                break
        else:
            key = item[4:] if item.startswith("MIG-") else item
            key = key if key.startswith("GPU-") else "GPU-" + key
            hits = [i for i, u in enumerate(uuids) if u and u.startswith(key.split("/")[0])]
            if len(hits) != 1:
                break
            i = hits[0]
        if i in out:
            break  # CUDA rejects duplicates
        out.append(i)
    return out


def probe_nvml(bandwidth_lookup=None) -> tuple[list[GpuInfo], dict]:
    """(GPUs, system facts) from NVML. Raises NvmlUnavailable when NVML cannot start."""
    try:
        import pynvml
    except ImportError:
        raise NvmlUnavailable("library_not_found", "nvidia-ml-py is not installed") from None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        raise NvmlUnavailable(*_reason(pynvml, exc)) from None
    try:
        return _read_all(pynvml, bandwidth_lookup)
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass


def _read_all(pynvml, bandwidth_lookup) -> tuple[list[GpuInfo], dict]:
    system = {
        "driver_version": _query(pynvml, pynvml.nvmlSystemGetDriverVersion),
        "cuda_driver_version": None,
    }
    cuda = _query(pynvml, pynvml.nvmlSystemGetCudaDriverVersion_v2) or _query(pynvml, pynvml.nvmlSystemGetCudaDriverVersion)
    if cuda:
        system["cuda_driver_version"] = f"{cuda // 1000}.{cuda % 1000 // 10}"
    count = _query(pynvml, pynvml.nvmlDeviceGetCount, default=0) or 0

    handles, uuids = [], []
    for i in range(count):
        h, uuid = None, None
        try:
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            uuid = _query(pynvml, pynvml.nvmlDeviceGetUUID, h)
        except pynvml.NVMLError as exc:
            # A GPU off the bus fails here already (the handle call returns GPU_IS_LOST too).
            h = _LOST if getattr(exc, "value", None) == pynvml.NVML_ERROR_GPU_IS_LOST else None
        handles.append(h)
        uuids.append(uuid)

    gpus = []
    for i in visible_indices(count, uuids, os.environ.get("CUDA_VISIBLE_DEVICES")):
        gpus.append(_read_gpu(pynvml, i, handles[i], bandwidth_lookup))
    return gpus, system


def _read_gpu(pynvml, index: int, handle, bandwidth_lookup) -> GpuInfo:
    if handle is None:
        return GpuInfo(index=index, name="unknown GPU", status="error", detail="NVML could not open this GPU")
    if handle is _LOST:
        return _lost_gpu(index)
    try:
        name = _query(pynvml, pynvml.nvmlDeviceGetName, handle) or "unknown NVIDIA GPU"
        uuid = _query(pynvml, pynvml.nvmlDeviceGetUUID, handle)
        mem = _query(pynvml, pynvml.nvmlDeviceGetMemoryInfo, handle, pynvml.nvmlMemory_v2)
        if mem is None:  # drivers before R510 have no v2 memory info
            mem = _query(pynvml, pynvml.nvmlDeviceGetMemoryInfo, handle)
        cc = _query(pynvml, pynvml.nvmlDeviceGetCudaComputeCapability, handle)
        bus = _query(pynvml, pynvml.nvmlDeviceGetMemoryBusWidth, handle)
        clock = _query(pynvml, pynvml.nvmlDeviceGetMaxClockInfo, handle, pynvml.NVML_CLOCK_MEM)
        procs = _query(pynvml, pynvml.nvmlDeviceGetComputeRunningProcesses, handle, default=[]) or []
        procs += _query(pynvml, pynvml.nvmlDeviceGetGraphicsRunningProcesses, handle, default=[]) or []
    except pynvml.NVMLError:
        return _lost_gpu(index)

    preset = bandwidth_lookup(name) if bandwidth_lookup else None
    bandwidth, derived = (preset.bandwidth_gbps, False) if preset else (None, False)
    if bandwidth is None and bus and clock:
        bandwidth, derived = 2 * clock * bus / 8 / 1000, True  # GB/s = 2 x MHz x bits / 8 / 1000
    seen, processes = set(), []
    for p in procs:
        if p.pid in seen:
            continue
        seen.add(p.pid)
        used = p.usedGpuMemory / GIB if getattr(p, "usedGpuMemory", None) is not None else None
        processes.append(GpuProcess(pid=p.pid, name=_process_name(p.pid), used_gib=used))
    return GpuInfo(
        index=index, name=name, uuid=uuid,
        vram_total_gib=mem.total / GIB if mem else None,
        vram_free_gib=mem.free / GIB if mem else None,
        vram_used_gib=mem.used / GIB if mem else None,
        bandwidth_gbps=bandwidth, bandwidth_derived=derived,
        compute_capability=f"{cc[0]}.{cc[1]}" if cc else None,
        fp16_tflops=preset.fp16_tflops if preset else None,
        bf16=(cc[0] >= 8) if cc else None,
        processes=tuple(processes),
    )


def _lost_gpu(index: int) -> GpuInfo:
    return GpuInfo(index=index, name="lost GPU", status="lost",
                   detail="GPU has fallen off the bus (NVML: GPU is lost); reboot or reseat it")


def _process_name(pid: int) -> str:
    try:
        import psutil

        return psutil.Process(pid).name()
    except Exception:  # the process may be gone, or in another PID namespace
        return "?"


def process_used_gib(pid: int) -> float | None:
    """GPU memory NVML charges to process `pid` (CUDA context included), summed over GPUs; None if unknown.

    Inside a container NVML may report host PIDs only: then the process is not found and the
    answer is None, never a guess.
    """
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # no library, no driver: nothing to measure
        return None
    try:
        total, found = 0, False
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            for p in _query(pynvml, pynvml.nvmlDeviceGetComputeRunningProcesses, h, default=[]) or []:
                if p.pid == pid and getattr(p, "usedGpuMemory", None) is not None:
                    total += p.usedGpuMemory
                    found = True
        return total / GIB if found else None
    except pynvml.NVMLError:
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
