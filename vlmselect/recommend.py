"""Rank models for a task on a machine. Pure: no I/O, no rich; one path for every command.

For each model that can do the task, for each runner it can run on, the quantization is
chosen (the highest precision that fits, or what the priority asks for), placed on the
hardware (one GPU, several, CPU offload, CPU only), then ordered as the priority says
(vlmselect/ranking.py; docs/ranking.md): quality is the lower bound of the task quality fitted
from independent boards and published benchmarks (vlmselect/quality.py). Hosted APIs alike,
with $ per image for cost.
"""

import datetime as dt
import math
from typing import NamedTuple

from vlmselect import ranking
from vlmselect.catalog import ApiSpec, Catalog, ModelSpec, TaskSpec
from vlmselect.cost import CostEstimate, api_cost
from vlmselect.hardware.types import HardwareProfile
from vlmselect.commands import run_command
from vlmselect.memory import MemoryEstimate, Workload, estimate_memory
from vlmselect.placement import Placement, need_gib, place, quant_options, runners_for, usable_vram
from vlmselect.quality import Quality, for_task
from vlmselect.quant import LOW_QUALITY, QUANTS, Quant
from vlmselect.speed import SpeedEstimate

PRIORITIES = ("balanced", "quality", "speed", "cost")
# Loading a repository's own Python code is a real cost (security review, breakage with new
# transformers releases): inside a statistical tie, the model that needs none goes first.
DEPRECATED_PENALTY = 0.05  # quality-bound points: a deprecated API loses ties to a current one


class Request(NamedTuple):
    task: TaskSpec
    workload: Workload
    priority: str = "balanced"
    local: bool = True
    api: bool = True
    runner: str | None = None  # ollama | transformers | llama.cpp | vllm
    max_cost_per_image: float | None = None
    commercial: bool = False
    as_of: dt.date | None = None
    top: int = 5
    today: dt.date | None = None  # None: the real today
    # Smoke-test measurements on this machine: (model id, runner, quant) -> tokens/s that passed.
    measured: dict | None = None


class LocalPick(NamedTuple):
    model: ModelSpec
    placement: Placement
    quality: float  # estimate after the quantization's loss (vlmselect.quality, 0..1)
    score: float
    why: str
    command: str
    warnings: tuple = ()
    quality_low: float = 0.0  # lower end of the 80 % interval, after the quantization's loss
    quality_high: float = 0.0
    q: Quality | None = None  # the fit behind it: evidence, prior, interval
    tie: bool = False  # a statistical tie with its neighbours (ordered by speed inside it)

    # The placement's facts, read through the pick.
    @property
    def quant(self) -> Quant:
        return self.placement.quant

    @property
    def runner(self) -> str:
        return self.placement.runner

    @property
    def mode(self) -> str:
        return self.placement.mode

    @property
    def gpus_used(self) -> int:
        return self.placement.gpus

    @property
    def mem(self) -> MemoryEstimate:
        return self.placement.mem

    @property
    def speed(self) -> SpeedEstimate:
        return self.placement.speed

    @property
    def usable_gib(self) -> float | None:
        return self.placement.usable_gib

    @property
    def headroom_gib(self) -> float | None:
        return self.placement.headroom_gib

    @property
    def fits(self) -> bool:
        return self.placement.fits


class ApiPick(NamedTuple):
    api: ApiSpec
    cost: CostEstimate
    status: str
    quality: float
    score: float
    why: str
    quality_low: float = 0.0
    quality_high: float = 0.0
    q: Quality | None = None
    tie: bool = False


class Excluded(NamedTuple):
    id: str
    reason: str


class Recommendation(NamedTuple):
    request: Request
    hardware: HardwareProfile
    local: list
    api: list
    excluded: list
    notes: list


# ---------------------------------------------------------------- quality


def capable(item: ModelSpec | ApiSpec, task: TaskSpec) -> str | None:
    """None when the model can do the task, else why not."""
    for cap, need in task.needs.items():
        if item.cap(cap) < need:
            have = item.cap(cap)
            return f"cannot do {task.id}: {cap} is {have} (needs {need})" if have == 0 else \
                f"too weak for {task.id}: {cap} {have}/3 (needs {need})"
    return None


# ---------------------------------------------------------------- local ranking


def _evaluate(m: ModelSpec, q: Quant, runner: str, hw: HardwareProfile, req: Request, quality: Quality) -> LocalPick | None:
    pl = place(m, q, runner, hw, req.workload)
    if pl is None:
        return None
    mode, share, speed = pl.mode, pl.gpu_share, pl.speed
    seen = (req.measured or {}).get((m.id, runner, q.id))
    if seen and mode in ("gpu", "multi-gpu"):
        # A passed smoke test on this GPU beats the model: decode at the measured rate.
        tps = float(seen["tokens_per_s"])
        decode_s = req.workload.max_new_tokens / tps
        speed = speed._replace(tokens_per_s=tps, decode_s=decode_s,
                               seconds_per_image=speed.vision_s + speed.prefill_s + decode_s,
                               basis=f"measured by `vlmselect smoke` on {seen.get('gpu')} ({seen.get('time', '')[:10]})")
        pl = pl.with_speed(speed)
    # Headroom is reported, never rewarded: the fit rule already keeps the safety margin. Offload
    # and CPU placements carry no flat factor: their seconds per image say how slow they are.
    warnings = []
    if q.id in LOW_QUALITY:
        warnings.append(f"{q.id} is a heavy quantization: expect visibly worse answers than 4-bit")
    if mode == "offload":
        warnings.append(f"{1 - share:.0%} of the weights run from system RAM: slow" if share < 0.995
                        else "part of the KV cache runs from system RAM: slow")
    if m.trust_remote_code and runner in ("transformers", "vllm"):
        warnings.append(f"{m.hf_repo} runs custom code from its repository (--trust-remote-code)")
    pick = LocalPick(model=m, placement=pl, quality=quality.estimate * q.quality, score=0.0, why="",
                     command=run_command(m, pl, req.workload), warnings=tuple(warnings),
                     quality_low=quality.low * q.quality, quality_high=quality.high * q.quality, q=quality)
    return pick._replace(score=ranking.local_key(pick, req.priority))


def _choose(options: list[LocalPick], priority: str) -> LocalPick:
    """The pick for one model: highest precision on GPU (or by score for speed/cost), then others."""
    on_gpu = [o for o in options if o.fits and o.quant.id not in LOW_QUALITY]
    pool = on_gpu or [o for o in options if o.fits] or options
    if priority in ("balanced", "quality") and on_gpu:
        best_bits = max(o.quant.bits for o in pool)
        pool = [o for o in pool if o.quant.bits == best_bits]
    return max(pool, key=lambda o: o.score)


def _why(p: LocalPick, task: TaskSpec) -> str:
    bits = []
    if p.mode == "gpu":
        bits.append(f"fits one GPU at {p.quant.id} with {p.headroom_gib:.1f} GiB to spare")
    elif p.mode == "multi-gpu":
        how = "tensor parallel" if p.runner == "vllm" else "layers split"
        bits.append(f"needs {p.gpus_used} GPUs ({how})")
    elif p.mode == "offload":
        bits.append(f"does not fit in VRAM: {p.mem.total_gib:.1f} GiB needed, so layers run from RAM"
                    + (f" ({_what_it_takes(p.mem, p.usable_gib)})" if (p.usable_gib or 0) > 1 else ""))
    else:
        bits.append("runs on the CPU")
    if p.q is not None:
        bits.append(p.q.summary())
    if ranking.quant_note(p.quant):
        bits.append(ranking.quant_note(p.quant).split(" (")[0])
    if p.speed.basis.startswith("measured"):
        bits.append(f"{p.speed.tokens_per_s:.0f} tok/s {p.speed.basis}")
    if task.video and p.model.cap("video") == 1:
        bits.append("no native video: feed sampled frames as images")
    if p.model.is_moe:
        bits.append(f"MoE: {p.model.params_active_b:g}B of {p.model.params_total_b:g}B active per token")
    return "; ".join(bits)


def _remote_code(p: LocalPick) -> bool:
    return bool(p.model.trust_remote_code and p.runner in ("transformers", "vllm"))


def _tied(p):
    return p._replace(why=p.why + "; statistical tie with its neighbours: ordered by speed") if p.tie else p


def recommend(catalog: Catalog, hw: HardwareProfile, req: Request) -> Recommendation:
    quals = for_task(catalog, req.task, req.as_of)
    excluded: list[Excluded] = []
    notes: list[str] = []
    local: list[LocalPick] = []
    if req.local:
        for m in catalog.models.values():
            reason = _filter(m, req)
            if reason:
                excluded.append(Excluded(m.id, reason))
                continue
            runners = runners_for(m)
            if req.runner:
                if req.runner not in runners:
                    excluded.append(Excluded(m.id, f"no {req.runner} artifact in the catalog (has: {', '.join(runners) or 'none'})"))
                    continue
                runners = [req.runner]
            prune = req.priority in ("balanced", "quality")
            options = _options(m, runners, hw, req, quals[m.id], prune)
            if not options:
                excluded.append(Excluded(m.id, _no_fit_reason(m, hw, req, runners)))
                continue
            local.append(_with_why(_choose(options, req.priority), req.task))
        local = [_tied(p) for p in ranking.order(local, req.priority, ranking.local_key,
                                                   lambda p: (_remote_code(p), p.speed.seconds_per_image))]

    apis: list[ApiPick] = []
    if req.api:
        on = req.as_of or req.today or dt.date.today()
        for a in catalog.apis.values():
            reason = _filter(a, req)
            if reason is None and a.status(on) == "retired":
                reason = f"retired on {a.retired}" + (f"; successor: {a.successor}" if a.successor else "")
            cost = api_cost(a, req.workload)
            if reason is None and req.max_cost_per_image is not None and cost.usd > req.max_cost_per_image:
                reason = f"${cost.usd:.4f} per image is over --max-cost-per-image {req.max_cost_per_image:g}"
            if reason:
                excluded.append(Excluded(a.id, reason))
                continue
            qa = quals[a.id]
            status = a.status(on)
            pen = DEPRECATED_PENALTY if status == "deprecated" else 0.0
            why = f"{qa.summary()}; ${cost.usd:.4f} per image"
            if status == "deprecated":
                why += f"; deprecated since {a.deprecated}, retires {a.retired or 'soon'}"
            if req.task.video:
                why += "; native video input" if a.cap("video") >= 2 else "; no native video: send sampled frames"
            pick = ApiPick(a, cost, status, qa.estimate, 0.0, why, quality_low=qa.low - pen, quality_high=qa.high, q=qa)
            apis.append(pick._replace(score=ranking.api_key(pick, req.priority)))
        apis = [p._replace(why=p.why + "; statistical tie with its neighbours: ordered by price") if p.tie else p
                for p in ranking.order(apis, req.priority, ranking.api_key, lambda p: p.cost.usd)]

    if not hw.usable_gpus and req.local:
        notes.append("no GPU: local options run on the CPU (slow); hosted APIs are listed too")
    return Recommendation(req, hw, local[: req.top], apis[: req.top], excluded, notes)


def _with_why(p: LocalPick, task: TaskSpec) -> LocalPick:
    return p._replace(why=_why(p, task))


def _filter(item: ModelSpec | ApiSpec, req: Request) -> str | None:
    if req.as_of and item.released > req.as_of:
        return f"released {item.released}, after --as-of {req.as_of}"
    reason = capable(item, req.task)
    if reason:
        return reason
    if req.commercial and isinstance(item, ModelSpec) and item.commercial is False:
        return f"licence {item.license} does not allow commercial use"
    return None


def _no_fit_reason(m: ModelSpec, hw: HardwareProfile, req: Request, runners: list[str]) -> str:
    if not runners:
        return "no runner artifact in the catalog"
    # Report the 4-bit need (GGUF where the model has it) against what there is.
    gguf = [r for r in runners if r in ("ollama", "llama.cpp")]
    q4 = QUANTS["q4_k_m"] if gguf else QUANTS["nf4"]
    mem = estimate_memory(m, q4, (gguf or runners)[0], req.workload)
    gpus = hw.usable_gpus
    if gpus:
        from vlmselect.fits import fits_up_to
        from vlmselect.placement import FIT_MARGIN

        have = usable_vram(gpus[0])
        up = fits_up_to(m, q4, (gguf or runners)[0], req.workload, have / (1 + FIT_MARGIN))
        shorter = f"; it fits this GPU with context up to {up.context:,} tokens" if up.context else ""
        return (f"needs {mem.total_gib:.1f} GiB at {q4.id}; {have:.1f} GiB on this GPU"
                f" ({_what_it_takes(mem, have)}){shorter}")
    return f"needs {mem.total_gib:.1f} GiB at {q4.id}; {hw.ram_available_gib or 0:.1f} GiB RAM available"


def _what_it_takes(mem: MemoryEstimate, per_gpu_gib: float) -> str:
    need = need_gib(mem)
    return f"would fit {math.ceil(need / max(per_gpu_gib, 0.1))} such GPUs or one {math.ceil(need)}+ GiB card"


def alternatives(catalog: Catalog, hw: HardwareProfile, req: Request, model_id: str) -> list[LocalPick]:
    """Every (runner, quant) placement of one model, best first: for `estimate` and `pull`."""
    m = catalog.models[model_id]
    quality = for_task(catalog, req.task, req.as_of)[model_id]
    runners = [req.runner] if req.runner else runners_for(m)
    out = [_with_why(p, req.task) for p in _options(m, runners, hw, req, quality, prune=False)]
    return sorted(out, key=lambda p: (p.fits, p.quant.id not in LOW_QUALITY, p.quant.bits, p.score), reverse=True)


def _options(m: ModelSpec, runners: list[str], hw: HardwareProfile, req: Request, quality: Quality,
             prune: bool) -> list[LocalPick]:
    """Every placement of `m` over runners and quants. With `prune`, a runner stops at its first
    good fit: quants come best first, and a lower one would lose to it in _choose anyway."""
    out = []
    for runner in runners:
        for q in quant_options(m, runner, hw):
            pick = _evaluate(m, q, runner, hw, req, quality)
            if pick:
                out.append(pick)
                if prune and pick.fits and q.id not in LOW_QUALITY:
                    break
    return out
