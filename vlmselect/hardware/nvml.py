"""NVIDIA GPUs through NVML (nvidia-ml-py, module `pynvml`). The only module that imports it.

Every NVML call goes through `_query`, which turns NotSupported (and its kin) into None,
so a field a driver cannot report becomes "unknown" instead of a crash. A lost GPU becomes
a placeholder row and the others still count.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

from vlmselect.hardware.types import GpuInfo, GpuProcess

if TYPE_CHECKING:
    from collections.abc import Callable

    from vlmselect.catalog import GpuSpec

    # The catalog's preset for a probed device name. (`pynvml` is Any below: nvidia-ml-py ships no
    # type information, and the tests hand in a fake module.)
    BandwidthLookup = Callable[[str], GpuSpec | None] | None

from vlmselect.units import GIB
_LOST = object()  # handle placeholder: the GPU was lost before it could be opened


class NvmlUnavailable(Exception):
    """NVML could not start: `reason` says why in words a user can act on."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code  # library_not_found | driver_not_loaded | no_permission | error
        self.reason = reason


def _reason(pynvml: Any, exc: BaseException) -> tuple[str, str]:
    value = getattr(exc, "value", None)
    if value == pynvml.NVML_ERROR_LIBRARY_NOT_FOUND:
        return "library_not_found", "NVML library (libnvidia-ml.so.1) not found: no NVIDIA driver installed, or not visible in this container"
    if value == pynvml.NVML_ERROR_DRIVER_NOT_LOADED:
        return "driver_not_loaded", "NVIDIA driver not loaded (the kernel module is not running)"
    if value == pynvml.NVML_ERROR_NO_PERMISSION:
        return "no_permission", "no permission to talk to the NVIDIA driver (/dev/nvidia*)"
    if value == getattr(pynvml, "NVML_ERROR_LIB_RM_VERSION_MISMATCH", 18):
        # The usual cause: the driver package was upgraded while the old kernel module is still loaded.
        return "driver_mismatch", ("NVIDIA driver/library version mismatch: the installed NVML library is newer "
                                   "than the loaded kernel module (a driver upgrade without a reboot); "
                                   "reboot, or reload the nvidia kernel modules")
    return "error", f"NVML error: {exc}"


def _query(pynvml: Any, fn: Callable[..., Any], *args: Any, default: Any = None) -> Any:
    """Call one NVML function; fields the driver cannot report come back as `default`."""
    try:
        return fn(*args)
    except pynvml.NVMLError as exc:
        if getattr(exc, "value", None) == pynvml.NVML_ERROR_GPU_IS_LOST:
            raise
        return default
    except pynvml.NVMLLibraryMismatchError:  # an older driver without this versioned call
        return default


class Mig(NamedTuple):
    """One MIG device (a slice of a GPU) as NVML lists it."""

    handle: Any
    uuid: str | None
    gi: int | None  # GPU instance id
    ci: int | None  # compute instance id


def visible_devices(count: int, uuids: list[str | None], env: str | None,
                    migs: dict[int, list[Mig]] | None = None) -> list[tuple[int, int | None]]:
    """(GPU index, MIG position or None) for each device CUDA would expose under CUDA_VISIBLE_DEVICES.

    Like CUDA: unset -> all; empty -> none; a comma list of indices or (prefixes of)
    UUIDs; parsing stops at the first entry that matches no device. MIG devices are named
    `MIG-<uuid>` (driver R470 and later) or `MIG-GPU-<gpu uuid>/<gi>/<ci>` (before); each is
    reported as itself, with its own memory. The order is CUDA's (the list order).
    """
    migs = migs or {}
    if env is None:
        return [(i, None) for i in range(count)]
    out: list[tuple[int, int | None]] = []
    for raw in env.split(","):
        item = raw.strip()
        found: tuple[int, int | None] | None = None
        if not item:
            break
        if item.lstrip("-").isdigit():
            i = int(item)
            found = (i, None) if 0 <= i < count else None
        elif item.startswith("MIG-GPU-") or (item.startswith("MIG-") and "/" in item):
            parent, _, rest = item[4:].partition("/")
            parent = parent if parent.startswith("GPU-") else "GPU-" + parent
            hits = [i for i, u in enumerate(uuids) if u and u.startswith(parent)]
            ids = rest.split("/")
            if len(hits) == 1:
                i = hits[0]
                slot = [j for j, m in enumerate(migs.get(i, []))
                        if len(ids) == 2 and [str(m.gi), str(m.ci)] == ids]
                # Without MIG details (an old driver), the parent GPU is the best we can say.
                found = (i, slot[0]) if slot else ((i, None) if not migs.get(i) else None)
        elif item.startswith("MIG-"):
            hits2 = [(i, j) for i, ms in migs.items() for j, m in enumerate(ms) if m.uuid and m.uuid.startswith(item)]
            found = hits2[0] if len(hits2) == 1 else None
        else:
            key = item if item.startswith("GPU-") else "GPU-" + item
            hits = [i for i, u in enumerate(uuids) if u and u.startswith(key)]
            found = (hits[0], None) if len(hits) == 1 else None
        if found is None or found in out:
            break  # CUDA stops at an unknown entry and rejects duplicates
        out.append(found)
    return out


def visible_indices(count: int, uuids: list[str | None], env: str | None) -> list[int]:
    """NVML indices of the GPUs CUDA would expose (MIG devices as their parent GPU)."""
    return [i for i, _ in visible_devices(count, uuids, env)]


def _migs(pynvml: Any, handle: Any) -> list[Mig]:
    """The MIG devices of a GPU in MIG mode; [] when MIG is off or unsupported."""
    mode = _query(pynvml, pynvml.nvmlDeviceGetMigMode, handle)
    if not mode or mode[0] != getattr(pynvml, "NVML_DEVICE_MIG_ENABLE", 1):
        return []
    out = []
    for j in range(_query(pynvml, pynvml.nvmlDeviceGetMaxMigDeviceCount, handle, default=0) or 0):
        mh = _query(pynvml, pynvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, j)
        if mh is None:  # an empty slot
            continue
        out.append(Mig(mh, _query(pynvml, pynvml.nvmlDeviceGetUUID, mh),
                       _query(pynvml, pynvml.nvmlDeviceGetGpuInstanceId, mh),
                       _query(pynvml, pynvml.nvmlDeviceGetComputeInstanceId, mh)))
    return out


def probe_nvml(bandwidth_lookup: BandwidthLookup = None) -> tuple[list[GpuInfo], dict[str, str | None]]:
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


def _read_all(pynvml: Any, bandwidth_lookup: BandwidthLookup) -> tuple[list[GpuInfo], dict[str, str | None]]:
    system: dict[str, str | None] = {
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

    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    migs: dict[int, list[Mig]] = {}
    if env and "MIG-" in env:  # only then: listing MIG devices costs calls most machines never need
        for i, h in enumerate(handles):
            if h is not None and h is not _LOST:
                try:
                    migs[i] = _migs(pynvml, h)
                except pynvml.NVMLError:
                    migs[i] = []
    gpus = []
    for i, j in visible_devices(count, uuids, env, migs):
        gpu = _read_gpu(pynvml, i, handles[i], bandwidth_lookup)
        gpus.append(gpu if j is None else _read_mig(pynvml, gpu, migs[i][j]))
    return gpus, system


def _read_gpu(pynvml: Any, index: int, handle: Any, bandwidth_lookup: BandwidthLookup) -> GpuInfo:
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


def _read_mig(pynvml: Any, parent: GpuInfo, mig: Mig) -> GpuInfo:
    """A MIG device: its own name and memory (a slice of the card), the parent's compute capability.
    Bandwidth is left unknown: a slice gets a share of the card's that NVML does not report."""
    if parent.status != "ok":
        return parent
    name = _query(pynvml, pynvml.nvmlDeviceGetName, mig.handle) or f"{parent.name} MIG {mig.gi}/{mig.ci}"
    mem = _query(pynvml, pynvml.nvmlDeviceGetMemoryInfo, mig.handle)
    return parent._replace(
        name=name, uuid=mig.uuid, vram_total_gib=mem.total / GIB if mem else None,
        vram_free_gib=mem.free / GIB if mem else None, vram_used_gib=mem.used / GIB if mem else None,
        bandwidth_gbps=None, bandwidth_derived=False, fp16_tflops=None, processes=(),
        detail=f"MIG device {mig.gi}/{mig.ci} of {parent.name}")


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
