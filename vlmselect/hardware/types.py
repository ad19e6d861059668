"""What vlmselect knows about a machine. `None` always means unknown."""


from typing import Any, NamedTuple


class GpuProcess(NamedTuple):
    pid: int
    name: str
    used_gib: float | None


class GpuInfo(NamedTuple):
    index: int  # type: ignore[assignment]  # the NVML index; shadows tuple.index, which nothing here calls
    name: str
    vendor: str = "nvidia"
    uuid: str | None = None
    vram_total_gib: float | None = None
    vram_free_gib: float | None = None
    vram_used_gib: float | None = None
    bandwidth_gbps: float | None = None
    bandwidth_derived: bool = False  # from bus width x memory clock, not the preset table
    compute_capability: str | None = None
    fp16_tflops: float | None = None
    bf16: bool | None = None
    unified_memory: bool = False
    processes: tuple[GpuProcess, ...] = ()
    status: str = "ok"  # ok | lost | error
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.status == "ok" and bool(self.vram_total_gib)

    @property
    def cc_float(self) -> float | None:
        try:
            return float(self.compute_capability) if self.compute_capability else None
        except ValueError:
            return None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "index": self.index, "name": self.name, "vendor": self.vendor, "uuid": self.uuid,
            "vram_total_gib": _r(self.vram_total_gib), "vram_free_gib": _r(self.vram_free_gib),
            "vram_used_gib": _r(self.vram_used_gib), "bandwidth_gbps": _r(self.bandwidth_gbps, 1),
            "bandwidth_derived": self.bandwidth_derived, "compute_capability": self.compute_capability,
            "fp16_tflops": self.fp16_tflops, "bf16": self.bf16, "status": self.status,
            "processes": [{"pid": p.pid, "name": p.name, "used_gib": _r(p.used_gib)} for p in self.processes],
        }
        if self.unified_memory:
            d["unified_memory"] = True
        if self.detail:
            d["detail"] = self.detail
        return d


class HardwareProfile(NamedTuple):
    source: str  # nvml | nvidia-smi | rocm-smi | amdsmi | apple | preset | manual | none
    gpus: tuple[GpuInfo, ...] = ()
    ram_total_gib: float | None = None
    ram_available_gib: float | None = None
    cpu_name: str | None = None
    cpu_cores: int | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    disk_free_gib: dict[str, float | None] = {}  # where models go -> free GiB
    notes: tuple[str, ...] = ()  # what could not be read, and why
    probe_s: float | None = None

    @property
    def usable_gpus(self) -> list[GpuInfo]:
        return [g for g in self.gpus if g.usable]

    def with_(self, **kw: Any) -> "HardwareProfile":
        return self._replace(**kw)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "source": self.source,
            "gpus": [g.to_json() for g in self.gpus],
            "ram_total_gib": _r(self.ram_total_gib),
            "ram_available_gib": _r(self.ram_available_gib),
            "cpu": {"name": self.cpu_name, "cores": self.cpu_cores},
            "driver_version": self.driver_version,
            "cuda_driver_version": self.cuda_driver_version,
            "disk_free_gib": {k: _r(v) for k, v in self.disk_free_gib.items()},
            "notes": list(self.notes),
        }
        if self.probe_s is not None:
            d["probe_s"] = round(self.probe_s, 3)
        return d


def _r(v: float | None, nd: int = 2) -> float | None:
    return None if v is None else round(v, nd)
