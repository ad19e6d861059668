"""Where a model runs on a machine: one GPU, several, CPU offload or the CPU. Pure; needs no task.

Every command that judges fit (recommend, estimate, pull, smoke's prediction) calls `place()`
and reads one typed `Placement`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vlmselect.catalog import ModelSpec
from vlmselect.hardware.types import GpuInfo, HardwareProfile
from vlmselect.memory import MemoryEstimate, Workload, estimate_memory
from vlmselect.quant import Quant, quants_for
from vlmselect.speed import SpeedEstimate, estimate_speed

RESERVE_GIB = 0.5  # display, driver and other processes when free memory was not measured [I]
FIT_MARGIN = 0.05  # safety margin on top of the estimate (reference: 5-10 %) [I]
RAM_RESERVE_GIB = 2.0  # the OS and the runner process itself, when offloading to RAM [I]
MODES = ("gpu", "multi-gpu", "offload", "cpu")


@dataclass(frozen=True)
class Placement:
    """One way to run a model at one quant on one runner on this machine.

    `gpus`, `gpu_share` and `tensor_parallel` are what the speed model reads.
    """

    mode: str  # gpu | multi-gpu | offload | cpu
    runner: str
    quant: Quant
    mem: MemoryEstimate
    speed: SpeedEstimate
    gpu_indices: tuple[int, ...] = ()  # the GPUs used (their `index`), empty on the CPU
    per_gpu_need_gib: float | None = None  # what each GPU used must hold, margin included
    usable_gib: float | None = None  # memory available where the model runs (per GPU, or RAM)
    gpu_share: float = 1.0  # fraction of the weights on GPUs; the rest in system RAM
    ram_gib: float | None = None  # system RAM it takes (offload / CPU)

    @property
    def gpus(self) -> int:
        return len(self.gpu_indices)

    @property
    def tensor_parallel(self) -> bool:
        return self.runner == "vllm" and self.gpus > 1

    @property
    def fits(self) -> bool:
        return self.mode in ("gpu", "multi-gpu")

    @property
    def headroom_gib(self) -> float | None:
        """Memory left after the model on the GPUs used (None when offloaded: nothing to spare)."""
        if self.mode == "offload" or self.usable_gib is None:
            return None
        if self.mode == "cpu":
            return self.usable_gib - need_gib(self.mem)
        return self.usable_gib * max(self.gpus, 1) - need_gib(self.mem)

    def with_speed(self, speed: SpeedEstimate) -> Placement:
        return replace(self, speed=speed)


def usable_vram(g: GpuInfo) -> float:
    """Memory a new model may use on `g`: measured free memory, else total minus a reserve."""
    if g.vram_free_gib is not None:
        return g.vram_free_gib
    return max((g.vram_total_gib or 0) - RESERVE_GIB, 0)


def usable_ram(hw: HardwareProfile) -> float:
    """System RAM a model may use (offload or CPU): available (else total) minus a reserve."""
    return (hw.ram_available_gib or hw.ram_total_gib or 0) - RAM_RESERVE_GIB


def need_gib(mem: MemoryEstimate) -> float:
    return mem.total_gib * (1 + FIT_MARGIN)


def runners_for(m: ModelSpec) -> list[str]:
    """Runners this model has an artifact or an integration for, per the catalog."""
    r = m.runners
    out = []
    if r.get("ollama"):
        out.append("ollama")
    if r.get("transformers"):
        out.append("transformers")
    if (r.get("gguf") or {}).get("files"):
        out.append("llama.cpp")
    if r.get("vllm"):
        out.append("vllm")
    return out


def quant_options(m: ModelSpec, runner: str, hw: HardwareProfile) -> list[Quant]:
    """Quants this runner can load for this model on this hardware, best first."""
    gpus = hw.usable_gpus
    vendor = gpus[0].vendor if gpus else None
    cc = gpus[0].cc_float if gpus else None
    r = m.runners
    out = []
    for q in quants_for(runner):
        if runner == "ollama":
            if not any(t.get("quant") == q.id for t in r.get("ollama") or []):
                continue
        elif runner == "llama.cpp":
            if q.id not in ((r.get("gguf") or {}).get("files") or {}):
                continue
        elif q.fmt in ("awq", "gptq", "fp8"):
            if not r.get(q.fmt):
                continue
            if q.fmt == "fp8" and (cc is None or cc < 8.9):
                continue  # FP8 kernels need Ada / Hopper (compute capability 8.9+)
        if q.id == "fp32" and (runner != "transformers" or gpus):
            continue  # full precision only where transformers runs on the CPU
        if q.id in ("bf16", "fp16") and runner == "transformers" and not gpus:
            continue  # on the CPU transformers computes in fp32
        if q.id == "bf16" and runner in ("transformers", "vllm") and not (gpus and gpus[0].bf16):
            continue  # bf16 needs compute capability 8.0+; fp16 takes its place
        if q.id == "fp16" and runner in ("transformers", "vllm") and gpus and gpus[0].bf16:
            continue  # one 16-bit option: bf16 where the GPU has it
        if q.fmt == "bnb" and (vendor != "nvidia"):
            continue  # bitsandbytes quants are offered only with a CUDA GPU
        out.append(q)
    return out


def _speed(m: ModelSpec, q: Quant, mem: MemoryEstimate, w: Workload, hw: HardwareProfile, mode: str,
           k: int, share: float, runner: str) -> SpeedEstimate:
    from vlmselect.speed import Placement as SpeedPlacement

    gpus = hw.usable_gpus
    g = gpus[0] if gpus else None
    return estimate_speed(
        m, q, mem, w,
        bandwidth_gbps=g.bandwidth_gbps if g and mode != "cpu" else None,
        tflops=g.fp16_tflops if g else None,
        placement=SpeedPlacement(mode, gpus=max(k, 1), gpu_share=share, tensor_parallel=(runner == "vllm" and k > 1)),
        cpu_cores=hw.cpu_cores or 8,
    )


def place(m: ModelSpec, q: Quant, runner: str, hw: HardwareProfile, w: Workload) -> Placement | None:
    """The placement of `m` at `q` on `runner`, or None when it cannot run here."""
    mem = estimate_memory(m, q, runner, w)
    gpus = hw.usable_gpus
    ram = usable_ram(hw)
    found: tuple | None = None
    if gpus:
        if runner == "vllm" and (gpus[0].cc_float or 0) < 7.0:
            return None  # vLLM needs compute capability 7.0+
        usable = usable_vram(gpus[0])
        if need_gib(mem) <= usable:
            found = ("gpu", 1, 1.0, usable)
        if found is None and len(gpus) > 1:
            per_gpu_fixed = mem.compute_gib + mem.overhead_gib
            shared = mem.weights_gib + mem.kv_cache_gib
            sizes = [k for k in range(2, len(gpus) + 1) if runner != "vllm" or (k & (k - 1)) == 0]
            for k in sizes:
                if runner == "vllm" and m.arch.kv_heads % k and k % m.arch.kv_heads:
                    continue  # tensor parallel splits the KV heads evenly
                avail = min(usable_vram(g) for g in gpus[:k])
                if (shared / k + per_gpu_fixed) * (1 + FIT_MARGIN) <= avail:
                    found = ("multi-gpu", k, 1.0, avail)
                    break
        if found is None and runner in ("ollama", "llama.cpp", "transformers") and not gpus[0].unified_memory:
            # Offload: what does not fit stays in system RAM and runs from there.
            on_gpu = usable - (mem.compute_gib + mem.overhead_gib + mem.weights_vision_gib) * (1 + FIT_MARGIN)
            rest = mem.weights_text_gib + mem.kv_cache_gib - max(on_gpu, 0)
            if on_gpu > 0.1 * (mem.weights_text_gib + mem.kv_cache_gib) and rest <= ram:
                share = max(min(on_gpu / (mem.weights_text_gib + mem.kv_cache_gib), 1.0), 0.0)
                found = ("offload", 1, share, usable)
        if found is None:
            return None
    elif runner in ("ollama", "llama.cpp", "transformers") and need_gib(mem) <= ram:
        if runner == "transformers" and q.fmt != "fp":
            return None  # bnb / AWQ / GPTQ kernels need a GPU
        found = ("cpu", 0, 0.0, ram)
    else:
        return None
    mode, k, share, usable = found
    speed = _speed(m, q, mem, w, hw, mode, k, share, runner)
    return Placement(mode=mode, runner=runner, quant=q, mem=mem, speed=speed,
                     gpu_indices=tuple(g.index for g in gpus[:k]), usable_gib=usable, gpu_share=share)
