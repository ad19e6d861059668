"""A stand-in for the NVIDIA driver library (libnvidia-ml.so.1), placed under the REAL bindings.

nvidia-ml-py (module ``pynvml``) loads the driver library with ``CDLL`` into ``pynvml.nvmlLib``
and looks each C function up by name with ``getattr(nvmlLib, name)``. ``FakeNvmlLib`` is an
object with those attribute names: each is a Python callable that takes the ctypes arguments
pynvml passes (``byref(...)`` objects, ``create_string_buffer`` buffers, arrays of structs,
device handles) and returns an NVML return code, the way the C function would. So pynvml's own
wrapper code -- ``nvmlInit``, string buffers and ``convertStrBytes``, ``nvmlMemory_v2`` structs,
the two-call process listing, ``_nvmlCheckReturn`` mapping codes to ``NVMLError_*`` classes,
``NVMLError_FunctionNotFound`` for a function an old driver lacks -- runs unchanged.

Use ``install(monkeypatch, [FakeGpu(...), ...])`` inside a test; monkeypatch restores pynvml.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

import pynvml

MIB = 2**20
GIB = 2**30

SUCCESS = 0
UNINITIALIZED = 1
INVALID_ARGUMENT = 2
NOT_SUPPORTED = 3
NO_PERMISSION = 4
NOT_FOUND = 6
INSUFFICIENT_SIZE = 7
DRIVER_NOT_LOADED = 9
GPU_IS_LOST = 15
LIB_RM_VERSION_MISMATCH = 18
ARGUMENT_VERSION_MISMATCH = 25
UNKNOWN = 999

NOT_AVAILABLE = 2**64 - 1  # NVML_VALUE_NOT_AVAILABLE_ulonglong: usedGpuMemory under WDDM

_HANDLE_BASE = 0x7F0000001000  # device handles are opaque non-NULL pointers; ours encode the index
_HANDLE_STEP = 0x100


@dataclass
class FakeGpu:
    """One device as the driver would report it. Memory in bytes (see `mib`)."""

    name: str = "NVIDIA GeForce RTX 3090"
    uuid: str = "GPU-5c2a7d1e-93b4-6f08-2a1c-0d9e4b7f3a61"
    total: int = 24576 * MIB
    reserved: int = 346 * MIB  # v2 only: memory the driver/firmware holds back
    used: int = 1500 * MIB  # v2 meaning: allocated by processes (v1 adds `reserved` to it)
    cc: tuple[int, int] = (8, 6)
    bus_width: int | None = 384  # bits; None -> NOT_SUPPORTED
    mem_clock_mhz: int | None = 9751  # max memory clock; None -> NOT_SUPPORTED
    processes: list = field(default_factory=list)  # compute: [(pid, used bytes or None)]
    graphics_processes: list = field(default_factory=list)  # graphics: [(pid, used bytes or None)]
    errors: dict = field(default_factory=dict)  # C function name -> NVML return code
    lost: bool = False  # fell off the bus: every call on it, its handle included, -> GPU_IS_LOST
    mig_mode: int | None = None  # None: no MIG support (NOT_SUPPORTED); 0 off; 1 on
    migs: list = field(default_factory=list)  # FakeMig devices, when mig_mode is 1

    @property
    def free(self) -> int:
        return self.total - self.reserved - self.used


@dataclass
class FakeMig(FakeGpu):
    """A MIG device: a slice of its parent GPU with its own UUID, name and memory."""

    gi: int = 1  # GPU instance id
    ci: int = 0  # compute instance id


def mib(n: float) -> int:
    return int(n * MIB)


def _handle_token(index: int) -> int:
    return _HANDLE_BASE + index * _HANDLE_STEP


class FakeNvmlLib:
    """The driver library: attributes named like NVML's C functions, each returning a return code.

    `missing` names functions this "driver" lacks (like an old driver): getattr raises
    AttributeError for them, which pynvml turns into NVMLError_FunctionNotFound.
    `init_error` is what nvmlInitWithFlags returns (DRIVER_NOT_LOADED, NO_PERMISSION, ...).
    `calls` records every call by function name, in order.
    """

    FUNCTIONS = (
        "nvmlInitWithFlags", "nvmlInit_v2", "nvmlShutdown", "nvmlErrorString",
        "nvmlSystemGetDriverVersion", "nvmlSystemGetCudaDriverVersion", "nvmlSystemGetCudaDriverVersion_v2",
        "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2",
        "nvmlDeviceGetName", "nvmlDeviceGetUUID",
        "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetMemoryInfo_v2",
        "nvmlDeviceGetCudaComputeCapability", "nvmlDeviceGetMemoryBusWidth", "nvmlDeviceGetMaxClockInfo",
        "nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v3",
        "nvmlDeviceGetMigMode", "nvmlDeviceGetMaxMigDeviceCount", "nvmlDeviceGetMigDeviceHandleByIndex",
        "nvmlDeviceGetGpuInstanceId", "nvmlDeviceGetComputeInstanceId",
    )

    def __init__(self, gpus=(), *, driver_version="550.54.14", cuda_version=12040,
                 init_error: int = SUCCESS, missing=(), system_errors=None):
        self.gpus = list(gpus)
        self.driver_version = driver_version
        self.cuda_version = cuda_version
        self.init_error = init_error
        self.system_errors = dict(system_errors or {})  # function name -> code, for system calls
        self.initialized = 0
        self.calls: list[str] = []
        unknown = set(missing) - set(self.FUNCTIONS)
        if unknown:
            raise ValueError(f"not a faked NVML function: {sorted(unknown)}")
        for name in self.FUNCTIONS:
            if name not in missing:
                setattr(self, name, self._recorded(name, getattr(self, "_" + name)))

    def _recorded(self, name, impl):
        def fn(*args):
            self.calls.append(name)
            return impl(*args)

        fn.__name__ = name
        return fn

    def called(self, name: str) -> int:
        return self.calls.count(name)

    # -- helpers

    def _system(self, name):
        if not self.initialized:
            return UNINITIALIZED
        return self.system_errors.get(name, SUCCESS)

    def _device(self, handle, name):
        """(gpu, None) for a valid handle, else (None, return code)."""
        if not self.initialized:
            return None, UNINITIALIZED
        token = ctypes.cast(handle, ctypes.c_void_p).value or 0
        index, rest = divmod(token - _HANDLE_BASE, _HANDLE_STEP)
        if token < _HANDLE_BASE or index >= len(self.gpus):
            return None, INVALID_ARGUMENT
        gpu = self.gpus[index]
        if gpu.lost:
            return None, GPU_IS_LOST
        if rest:  # a MIG device handle: parent's token + 1 + its position
            if rest - 1 >= len(gpu.migs):
                return None, INVALID_ARGUMENT
            gpu = gpu.migs[rest - 1]
        code = gpu.errors.get(name, SUCCESS)
        return (gpu, None) if code == SUCCESS else (None, code)

    @staticmethod
    def _write_string(buf, size, text: str) -> int:
        raw = text.encode()
        if len(raw) + 1 > int(getattr(size, "value", size)):
            return INSUFFICIENT_SIZE
        buf.value = raw
        return SUCCESS

    # -- init / system

    def _nvmlInitWithFlags(self, flags):
        if self.init_error:
            return self.init_error
        self.initialized += 1
        return SUCCESS

    def _nvmlInit_v2(self):
        return self._nvmlInitWithFlags(0)

    def _nvmlShutdown(self):
        if not self.initialized:
            return UNINITIALIZED
        self.initialized -= 1
        return SUCCESS

    def _nvmlErrorString(self, result):
        # pynvml sets .restype = c_char_p on this one and expects bytes back.
        code = int(getattr(result, "value", result))
        return f"Fake NVML error {code}".encode()

    def _nvmlSystemGetDriverVersion(self, buf, size):
        code = self._system("nvmlSystemGetDriverVersion")
        return code or self._write_string(buf, size, self.driver_version)

    def _cuda(self, name, ref):
        code = self._system(name)
        if code:
            return code
        ref._obj.value = self.cuda_version
        return SUCCESS

    def _nvmlSystemGetCudaDriverVersion(self, ref):
        return self._cuda("nvmlSystemGetCudaDriverVersion", ref)

    def _nvmlSystemGetCudaDriverVersion_v2(self, ref):
        return self._cuda("nvmlSystemGetCudaDriverVersion_v2", ref)

    def _nvmlDeviceGetCount_v2(self, ref):
        code = self._system("nvmlDeviceGetCount_v2")
        if code:
            return code
        ref._obj.value = len(self.gpus)
        return SUCCESS

    def _nvmlDeviceGetHandleByIndex_v2(self, index, ref):
        if not self.initialized:
            return UNINITIALIZED
        i = index.value
        if i >= len(self.gpus):
            return INVALID_ARGUMENT
        gpu = self.gpus[i]
        if gpu.lost:
            return GPU_IS_LOST
        code = gpu.errors.get("nvmlDeviceGetHandleByIndex_v2", SUCCESS)
        if code:
            return code
        # ref._obj is the c_nvmlDevice_t (a POINTER) pynvml will hand back: give it our address.
        ctypes.c_void_p.from_buffer(ref._obj).value = _handle_token(i)
        return SUCCESS

    # -- device

    def _nvmlDeviceGetName(self, handle, buf, size):
        gpu, code = self._device(handle, "nvmlDeviceGetName")
        return code or self._write_string(buf, size, gpu.name)

    def _nvmlDeviceGetUUID(self, handle, buf, size):
        gpu, code = self._device(handle, "nvmlDeviceGetUUID")
        return code or self._write_string(buf, size, gpu.uuid)

    def _nvmlDeviceGetMemoryInfo(self, handle, ref):
        gpu, code = self._device(handle, "nvmlDeviceGetMemoryInfo")
        if code:
            return code
        mem = ref._obj  # c_nvmlMemory_t: v1 counts the reserved memory as used
        mem.total, mem.free, mem.used = gpu.total, gpu.free, gpu.used + gpu.reserved
        return SUCCESS

    def _nvmlDeviceGetMemoryInfo_v2(self, handle, ref):
        gpu, code = self._device(handle, "nvmlDeviceGetMemoryInfo_v2")
        if code:
            return code
        mem = ref._obj  # c_nvmlMemory_v2_t
        if mem.version != pynvml.nvmlMemory_v2:
            return ARGUMENT_VERSION_MISMATCH
        mem.total, mem.reserved, mem.free, mem.used = gpu.total, gpu.reserved, gpu.free, gpu.used
        return SUCCESS

    def _nvmlDeviceGetCudaComputeCapability(self, handle, major, minor):
        gpu, code = self._device(handle, "nvmlDeviceGetCudaComputeCapability")
        if code:
            return code
        major._obj.value, minor._obj.value = gpu.cc
        return SUCCESS

    def _nvmlDeviceGetMemoryBusWidth(self, handle, ref):
        gpu, code = self._device(handle, "nvmlDeviceGetMemoryBusWidth")
        if code:
            return code
        if gpu.bus_width is None:
            return NOT_SUPPORTED
        ref._obj.value = gpu.bus_width
        return SUCCESS

    def _nvmlDeviceGetMaxClockInfo(self, handle, clock_type, ref):
        gpu, code = self._device(handle, "nvmlDeviceGetMaxClockInfo")
        if code:
            return code
        if int(getattr(clock_type, "value", clock_type)) != pynvml.NVML_CLOCK_MEM:
            return NOT_SUPPORTED  # only the memory clock is modelled
        if gpu.mem_clock_mhz is None:
            return NOT_SUPPORTED
        ref._obj.value = gpu.mem_clock_mhz
        return SUCCESS

    def _processes(self, name, procs, handle, count_ref, infos):
        gpu, code = self._device(handle, name)
        if code:
            return code
        procs = getattr(gpu, procs)
        count = count_ref._obj
        if infos is None or count.value < len(procs):
            # First call (count 0, NULL array), or an array too small: say how many there are.
            need = len(procs)
            count.value = need
            return INSUFFICIENT_SIZE if need else SUCCESS
        for slot, (pid, used) in zip(infos, procs):
            slot.pid = pid
            slot.usedGpuMemory = NOT_AVAILABLE if used is None else used
            slot.gpuInstanceId = slot.computeInstanceId = 0xFFFFFFFF
        count.value = len(procs)
        return SUCCESS

    def _nvmlDeviceGetComputeRunningProcesses_v3(self, handle, count_ref, infos):
        return self._processes("nvmlDeviceGetComputeRunningProcesses_v3", "processes", handle, count_ref, infos)

    def _nvmlDeviceGetGraphicsRunningProcesses_v3(self, handle, count_ref, infos):
        return self._processes("nvmlDeviceGetGraphicsRunningProcesses_v3", "graphics_processes",
                               handle, count_ref, infos)


    # -- MIG

    def _nvmlDeviceGetMigMode(self, handle, current, pending):
        gpu, code = self._device(handle, "nvmlDeviceGetMigMode")
        if code:
            return code
        if gpu.mig_mode is None or isinstance(gpu, FakeMig):
            return NOT_SUPPORTED
        current._obj.value = pending._obj.value = gpu.mig_mode
        return SUCCESS

    def _nvmlDeviceGetMaxMigDeviceCount(self, handle, ref):
        gpu, code = self._device(handle, "nvmlDeviceGetMaxMigDeviceCount")
        if code:
            return code
        if gpu.mig_mode is None:
            return NOT_SUPPORTED
        ref._obj.value = 7  # A100/H100: up to seven slices
        return SUCCESS

    def _nvmlDeviceGetMigDeviceHandleByIndex(self, handle, index, ref):
        gpu, code = self._device(handle, "nvmlDeviceGetMigDeviceHandleByIndex")
        if code:
            return code
        j = index.value
        if not gpu.mig_mode or j >= len(gpu.migs):
            return NOT_FOUND
        token = ctypes.cast(handle, ctypes.c_void_p).value or 0
        ctypes.c_void_p.from_buffer(ref._obj).value = token + 1 + j
        return SUCCESS

    def _instance_id(self, name, handle, ref, attr):
        gpu, code = self._device(handle, name)
        if code:
            return code
        if not isinstance(gpu, FakeMig):
            return INVALID_ARGUMENT
        ref._obj.value = getattr(gpu, attr)
        return SUCCESS

    def _nvmlDeviceGetGpuInstanceId(self, handle, ref):
        return self._instance_id("nvmlDeviceGetGpuInstanceId", handle, ref, "gi")

    def _nvmlDeviceGetComputeInstanceId(self, handle, ref):
        return self._instance_id("nvmlDeviceGetComputeInstanceId", handle, ref, "ci")


def install(monkeypatch, gpus=(), **kw) -> FakeNvmlLib:
    """Put a FakeNvmlLib where pynvml keeps the loaded driver library. monkeypatch undoes it all."""
    lib = FakeNvmlLib(gpus, **kw)
    _reset(monkeypatch)
    monkeypatch.setattr(pynvml, "nvmlLib", lib)
    return lib


def install_missing_library(monkeypatch) -> None:
    """No libnvidia-ml.so.1 on this machine, whatever machine it is: loading it fails with OSError."""
    _reset(monkeypatch)
    monkeypatch.setattr(pynvml, "nvmlLib", None)

    def no_library(*args, **kwargs):
        raise OSError("libnvidia-ml.so.1: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(pynvml, "CDLL", no_library)


def _reset(monkeypatch) -> None:
    # Function pointers are cached by name; the refcount and error strings are module state too.
    monkeypatch.setattr(pynvml, "_nvmlGetFunctionPointer_cache", {})
    monkeypatch.setattr(pynvml, "_nvmlLib_refcount", 0)
    monkeypatch.setattr(pynvml.NVMLError, "_errcode_to_string", dict(pynvml.NVMLError._errcode_to_string))
