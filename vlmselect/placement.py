"""Where a model runs on a machine: one GPU, several, CPU offload or the CPU. Pure; needs no task.

Every command that judges fit (recommend, estimate, pull, smoke's prediction) calls `place()`
and reads one typed `Placement`.
"""

import math
from itertools import combinations
from typing import NamedTuple

from vlmselect.catalog import ModelSpec
from vlmselect.hardware.types import GpuInfo, HardwareProfile
from vlmselect.memory import MemoryEstimate, Workload, estimate_memory
from vlmselect.quant import RUNNER_FORMATS, Quant, quants_for
from vlmselect.speed import Placement as SpeedPlacement
from vlmselect.speed import SpeedEstimate, estimate_speed

RESERVE_GIB = 0.5  # display, driver and other processes when free memory was not measured [I]
FIT_MARGIN = 0.05  # safety margin on top of the estimate (reference: 5-10 %) [I]
RAM_RESERVE_GIB = 2.0  # the OS and the runner process itself, when offloading to RAM [I]
# The allocator slack memory.py already counts for transformers (0 when it counts none).
try:
    from vlmselect.memory import TORCH_FRAGMENTATION
except ImportError:  # the estimator may fold it elsewhere
    TORCH_FRAGMENTATION = 0.0
FP8_SOURCE = ("NVIDIA Transformer Engine support matrix: FP8 \"requires compute capability 8.9 or higher\"; "
              "https://nvidia.github.io/TransformerEngine/support_matrix.html")
MODES = ("gpu", "multi-gpu", "offload", "cpu")
SPEED_UNKNOWN = "unknown: the GPU's memory bandwidth is not known (describe it with --gpu NAME)"


def speed_known(speed: SpeedEstimate) -> bool:
    return speed.basis != SPEED_UNKNOWN


class Placement(NamedTuple):
    """One way to run a model at one quant on one runner on this machine.

    `gpus`, `gpu_share` and `tensor_parallel` are what the speed model reads.
    """

    mode: str  # gpu | multi-gpu | offload | cpu
    runner: str
    quant: Quant
    mem: MemoryEstimate
    speed: SpeedEstimate
    gpu_indices: tuple[int, ...] = ()  # the GPUs used (their `index`), empty on the CPU
    gpu_need_gib: tuple[float, ...] = ()  # what each GPU used must hold, margin included
    gpu_usable_gib: tuple[float, ...] = ()  # what each GPU used has free
    usable_gib: float | None = None  # memory available where the model runs (tightest GPU, or RAM)
    gpu_share: float = 1.0  # fraction of the weights on GPUs; the rest in system RAM
    ram_gib: float | None = None  # system RAM it takes (offload / CPU)
    gpu_uuids: tuple[str, ...] = ()  # the GPUs' UUIDs where probed ("" when unknown)
    all_gpus: int = 0  # usable GPUs on the machine: fewer used means a subset to select

    @property
    def subset(self) -> bool:
        """True when the placement uses some of the machine's GPUs, not all: the command must say which."""
        return 0 < self.gpus < self.all_gpus

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
    def per_gpu_need_gib(self) -> float | None:
        return max(self.gpu_need_gib) if self.gpu_need_gib else None

    @property
    def headroom_gib(self) -> float | None:
        """Memory left on the tightest GPU used, or in RAM on the CPU (None when offloaded)."""
        if self.mode == "offload" or self.usable_gib is None:
            return None
        if self.mode == "cpu":
            return self.usable_gib - need_gib(self.mem)
        return min(u - n for u, n in zip(self.gpu_usable_gib, self.gpu_need_gib))

    def with_speed(self, speed: SpeedEstimate) -> "Placement":
        return self._replace(speed=speed)


def usable_vram(g: GpuInfo) -> float:
    """Memory a new model may use on `g`: measured free memory, else total minus a reserve."""
    if g.vram_free_gib is not None:
        return g.vram_free_gib
    return max((g.vram_total_gib or 0) - RESERVE_GIB, 0)


def usable_ram(hw: HardwareProfile) -> float:
    """System RAM a model may use (offload or CPU): available (else total) minus a reserve."""
    return (hw.ram_available_gib or hw.ram_total_gib or 0) - RAM_RESERVE_GIB


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


def gpu_unsupported(g: GpuInfo, q: Quant, runner: str) -> str | None:
    """Why `runner` cannot run quant `q` on GPU `g` (None when it can)."""
    cc = g.cc_float
    if runner == "vllm" and g.vendor == "apple":
        # docs/getting_started/installation/cpu.apple.inc.md (vLLM 0.7-0.21): "On macOS the
        # VLLM_TARGET_DEVICE is automatically set to cpu, which is currently the only supported device".
        return "vLLM has no Apple GPU (Metal) backend: on macOS it runs on the CPU only"
    if runner == "vllm" and g.vendor == "nvidia" and cc is not None and cc < 7.0:
        return f"vLLM needs compute capability 7.0+ ({g.name} is {g.compute_capability})"
    if q.fmt == "fp8" and runner in ("transformers", "vllm"):
        # Native FP8 tensor cores arrived with Ada (sm_89) and Hopper (sm_90).
        if g.vendor != "nvidia" or cc is None or cc < 8.9:
            return f"fp8 needs compute capability 8.9+ ({FP8_SOURCE}); {g.name} is {g.compute_capability or 'unknown'}"
    if q.fmt == "bnb" and g.vendor != "nvidia":
        return f"bitsandbytes {q.id} is offered only on NVIDIA GPUs ({g.name} is {g.vendor})"
    if q.id == "bf16" and runner in ("transformers", "vllm") and not g.bf16:
        return f"bf16 needs compute capability 8.0+; {g.name} takes fp16"
    if q.id == "fp16" and runner in ("transformers", "vllm") and g.bf16:
        return "bf16 is offered instead (one 16-bit option per GPU)"
    if q.id == "fp32":
        return "fp32 is for transformers on a CPU only"
    return None


# What gpu_unsupported reads of each GPU: (name, vendor, compute capability, bf16).
GpuKey = tuple[tuple[str, str, str | None, bool | None], ...]
_BLOCKED: dict[tuple[str, str, GpuKey], str | None] = {}


def _blocked_on_all(gpus: tuple[GpuInfo, ...], gpu_key: GpuKey, q: Quant, runner: str) -> str | None:
    """Why no GPU here can run `q` on `runner` (the first GPU's reason), or None when one can.
    Memoised on `gpu_key`, what gpu_unsupported reads: it depends on the GPUs, not on the model,
    and recommend asks it for every model."""
    key = (q.id, runner, gpu_key)
    if key not in _BLOCKED:
        blocked = [gpu_unsupported(g, q, runner) for g in gpus]
        _BLOCKED[key] = blocked[0] if all(blocked) else None
    return _BLOCKED[key]


def artifact_missing(m: ModelSpec, q: Quant, runner: str) -> str | None:
    """Why the catalog has nothing `runner` can load at `q` for `m` (None when it has)."""
    r = m.runners
    if runner == "ollama":
        tagged = any(t.get("quant") == q.id for t in r.get("ollama") or [])
        return None if tagged else f"no Ollama tag at {q.id}"
    if runner == "llama.cpp":
        return None if q.id in ((r.get("gguf") or {}).get("files") or {}) else f"no GGUF file at {q.id}"
    if q.fmt == "gguf":
        return f"{q.id} is a GGUF quant: {runner} does not load GGUF (use --runner llama.cpp or ollama)"
    if q.fmt in ("awq", "gptq", "fp8") and not r.get(q.fmt):
        return f"no {q.id.upper()} checkpoint in the catalog"
    if q.fmt not in RUNNER_FORMATS[runner]:
        return f"{runner} does not load {q.id}"
    return None


def quant_reasons(m: ModelSpec, runner: str, hw: HardwareProfile) -> list[tuple[Quant, str | None]]:
    """Every quant of `runner`, best first, with why it cannot run here (None: it can be tried)."""
    gpus = tuple(hw.usable_gpus)
    gpu_key = tuple((g.name, g.vendor, g.compute_capability, g.bf16) for g in gpus)
    out: list[tuple[Quant, str | None]] = []
    for q in quants_for(runner):
        why = artifact_missing(m, q, runner)
        if why is None:
            if gpus:
                why = _blocked_on_all(gpus, gpu_key, q, runner)
            elif runner == "vllm":
                why = "vLLM runs on a GPU (this machine has none)"
            elif runner == "transformers" and q.id in ("bf16", "fp16"):
                why = "transformers computes in fp32 on a CPU"
            elif runner == "transformers" and q.fmt != "fp":
                why = f"{q.id} kernels need a GPU"
        elif q.id == "fp32" and (runner != "transformers" or gpus):
            why = "fp32 is for transformers on a CPU only"
        out.append((q, why))
    return out


def quant_options(m: ModelSpec, runner: str, hw: HardwareProfile) -> list[Quant]:
    """Quants this runner can load for this model on this hardware, best first."""
    return [q for q, why in quant_reasons(m, runner, hw) if why is None]


def fit_margin(runner: str) -> float:
    """The one fit margin: FIT_MARGIN over the estimate, less any allocator slack the estimate
    already counts (transformers' caching allocator), so the two are never stacked. The memory
    picture (viz) and "what fits" (fits) read this too, so all three agree."""
    slack = TORCH_FRAGMENTATION if runner == "transformers" else 0.0
    return max(FIT_MARGIN - slack, 0.0)


_margin = fit_margin  # the name filters.py and catalog_views.py import


def need_gib(mem: MemoryEstimate) -> float:
    """What one GPU must have free to hold the whole estimate."""
    return mem.total_gib * (1 + _margin(mem.runner))


def _shared_fixed(mem: MemoryEstimate) -> tuple[float, float]:
    """(what divides over GPUs, what each GPU pays itself). Weights and KV divide; compute buffers and
    the CUDA context / runtime overhead are paid on every GPU. transformers' allocator slack is a
    share of each GPU's live tensors, so it follows the part it rides on."""
    s = TORCH_FRAGMENTATION if mem.runner == "transformers" else 0.0
    live = mem.weights_gib + mem.kv_cache_gib + mem.compute_gib
    shared = (mem.weights_gib + mem.kv_cache_gib) * (1 + s)
    fixed = mem.compute_gib * (1 + s) + max(mem.overhead_gib - s * live, 0.0)
    return shared, fixed


def split_need_gib(mem: MemoryEstimate, k: int) -> float:
    """Per-GPU need when split evenly over k GPUs, margin included (k = 1: the whole estimate)."""
    shared, fixed = _shared_fixed(mem)
    return (shared / k + fixed) * (1 + _margin(mem.runner))


def split_needs(mem: MemoryEstimate, usable: list[float], even: bool) -> list[float] | None:
    """What each GPU must hold when `mem` is split over GPUs with `usable` GiB free, or None when
    it does not fit. Fixed costs are paid on every GPU."""
    k = len(usable)
    if even:  # tensor parallel: every GPU holds the same share
        need = split_need_gib(mem, k)
        return [need] * k if need <= min(usable) else None
    # Layer split (llama.cpp --tensor-split, Ollama, accelerate's device_map): shares follow each
    # GPU's room after its own fixed costs.
    m = 1 + _margin(mem.runner)
    shared, fixed = _shared_fixed(mem)
    room = [u - fixed * m for u in usable]
    if min(room) <= 0 or shared * m > sum(room):
        return None
    return [fixed * m + shared * m * r / sum(room) for r in room]


def _rank_gpus(gs: tuple[GpuInfo, ...]) -> tuple[float, float]:
    """Among placements that fit: the fastest memory first, then the most room."""
    return (min(g.bandwidth_gbps or 0 for g in gs), sum(usable_vram(g) for g in gs))


def place(m: ModelSpec, q: Quant, runner: str, hw: HardwareProfile, w: Workload,
          mem: MemoryEstimate | None = None, explain: bool = True) -> Placement | None:
    """The placement of `m` at `q` on `runner`, or None when it cannot run here.

    Each GPU is judged by its own free memory; the fewest GPUs that hold the model win, and
    among those the fastest. Offload uses the GPU with the most room; no GPU means the CPU.
    `mem`: the estimate of this very (m, q, runner, w), when the caller already has it.
    Without `explain`, the same placement without the basis of its estimates (for ranking).
    """
    mem = mem or estimate_memory(m, q, runner, w, explain=explain)
    usable = hw.usable_gpus
    gpus = [g for g in usable if gpu_unsupported(g, q, runner) is None]
    ram = usable_ram(hw)
    margin = 1 + _margin(runner)
    need = need_gib(mem)
    if not usable:
        if runner in ("ollama", "llama.cpp", "transformers") and need <= ram:
            if runner == "transformers" and q.fmt != "fp":
                return None  # bnb / AWQ / GPTQ kernels need a GPU
            return _placed(m, q, runner, hw, w, mem, explain, "cpu", (), 0.0, [], ram=ram, ram_gib=mem.total_gib)
        return None
    if not gpus:
        return None
    single = [g for g in gpus if need <= usable_vram(g)]
    if single:
        g = single[0] if len(single) == 1 else max(single, key=lambda x: _rank_gpus((x,)))
        return _placed(m, q, runner, hw, w, mem, explain, "gpu", (g,), 1.0, [need], all_gpus=len(usable))
    tp = runner == "vllm"
    for k in range(2, len(gpus) + 1):
        if tp and ((k & (k - 1)) or (m.arch.kv_heads % k and k % m.arch.kv_heads)):
            continue  # tensor parallel: power-of-two sizes that split the KV heads evenly
        fits = [(s, n) for s in combinations(gpus, k)
                if (n := split_needs(mem, [usable_vram(g) for g in s], even=tp)) is not None]
        if fits:
            best, needs = max(fits, key=lambda sn: _rank_gpus(sn[0]))
            return _placed(m, q, runner, hw, w, mem, explain, "multi-gpu", best, 1.0, needs, all_gpus=len(usable))
    g = max(gpus, key=usable_vram)
    # bitsandbytes does not offload quantized: "The weights dispatched to the CPU are stored in
    # float32 and aren't converted to 8-bit" (transformers docs/source/en/quantization/bitsandbytes.md,
    # LLM.int8 > Offloading; llm_int8_enable_fp32_cpu_offload, the same flag for 4-bit), so the RAM
    # part would cost 4 bytes per weight, not 0.5-1: no bnb offload placement (GGUF offloads quantized).
    if runner in ("ollama", "llama.cpp", "transformers") and not g.unified_memory and q.fmt != "bnb":
        # Offload: what does not fit stays in system RAM and runs from there. The same margin
        # applies to the part on the GPU, so a placement here always leaves some weights in RAM.
        movable = mem.weights_text_gib + mem.kv_cache_gib
        on_gpu = usable_vram(g) / margin - (mem.compute_gib + mem.overhead_gib + mem.weights_vision_gib)
        rest = movable - max(on_gpu, 0)
        if on_gpu > 0.1 * movable and rest <= ram:
            share = max(min(on_gpu / movable, 1.0), 0.0)
            return _placed(m, q, runner, hw, w, mem, explain, "offload", (g,), share, [usable_vram(g)], ram_gib=rest,
                           all_gpus=len(usable))
    return None


def _placed(m: ModelSpec, q: Quant, runner: str, hw: HardwareProfile, w: Workload, mem: MemoryEstimate, explain: bool,
            mode: str,
            used: tuple[GpuInfo, ...], share: float, needs: list[float],
            ram: float | None = None, ram_gib: float | None = None, all_gpus: int = 0) -> Placement:
    speed = _speed(m, q, mem, w, hw, mode, used, share, runner, explain)
    usable = tuple(usable_vram(g) for g in used)
    return Placement(mode, runner, q, mem, speed, gpu_indices=tuple(g.index for g in used), gpu_need_gib=tuple(needs),
                     gpu_usable_gib=usable, usable_gib=min(usable) if usable else ram,
                     gpu_share=share, ram_gib=ram_gib, gpu_uuids=tuple(g.uuid or "" for g in used),
                     all_gpus=all_gpus)


def _speed(m: ModelSpec, q: Quant, mem: MemoryEstimate, w: Workload, hw: HardwareProfile, mode: str,
           used: tuple[GpuInfo, ...], share: float, runner: str, explain: bool) -> SpeedEstimate:
    k = len(used)
    bws = [g.bandwidth_gbps for g in used if g.bandwidth_gbps]
    if mode != "cpu" and len(bws) < k:
        # A GPU described only by its memory (--vram): its bandwidth is unknown, so is its speed.
        return SpeedEstimate(0.0, 0.0, 0.0, 0.0, 0.0, SPEED_UNKNOWN)
    # Layers split over GPUs run one after another: each GPU's part at its own bandwidth, so the
    # slowest sets the pace; tensor parallel waits for the slowest too.
    bw = min(bws) if used and len(bws) == k else None
    tf = [g.fp16_tflops for g in used if g.fp16_tflops]
    return estimate_speed(
        m, q, mem, w,
        bandwidth_gbps=bw if mode != "cpu" else None,
        tflops=min(tf) if tf else None,
        placement=SpeedPlacement(mode, gpus=max(k, 1), gpu_share=share, tensor_parallel=(runner == "vllm" and k > 1)),
        cpu_cores=hw.cpu_cores or 8, explain=explain,
    )


def what_it_takes(mem: MemoryEstimate, per_gpu_gib: float) -> str:
    """The fewest GPUs of `per_gpu_gib` free each that would hold `mem` (each paying its own fixed
    costs), or the one card that would."""
    need = need_gib(mem)
    sizes = (1, 2, 4, 8, 16) if mem.runner == "vllm" else range(1, 17)  # tensor parallel: powers of two
    k = next((k for k in sizes if split_need_gib(mem, k) <= per_gpu_gib), None)
    many = (f"would fit {k} such GPU{'s' if k > 1 else ''}" if k else "would not fit 16 such GPUs")
    return f"{many} or one {math.ceil(need)}+ GiB card"
