"""Rank models for a task on a machine. Pure: no I/O, no rich; one path for every command.

For each model that can do the task, for each runner it can run on, the quantization is
chosen (the highest precision that fits, or what the priority asks for), placed on the
hardware (one GPU, several, CPU offload, CPU only), then scored by task quality, speed and
headroom, weighted by the priority. Hosted APIs are scored by quality and cost per image.
"""

import datetime as dt
import math
from typing import NamedTuple

from vlmselect.catalog import ApiSpec, Catalog, ModelSpec, TaskSpec
from vlmselect.cost import CostEstimate, api_cost
from vlmselect import filters
from vlmselect.filters import Excluded
from vlmselect.hardware.types import HardwareProfile
from vlmselect.commands import NextSteps, next_steps
from vlmselect.memory import MemoryEstimate, Workload, estimate_memory
from vlmselect.placement import Placement, place, quant_options, runners_for, usable_vram, what_it_takes
from vlmselect.quant import LOW_QUALITY, QUANTS, Quant
from vlmselect.speed import SpeedEstimate

PRIORITIES = ("balanced", "quality", "speed", "cost")
# Loading a repository's own Python code is a real cost (security review, breakage with new
# transformers releases): between two otherwise equal models, the one that needs none wins.
REMOTE_CODE_FACTOR = 0.95

# Weights of (quality, speed, headroom) for local models and (quality, cost) for APIs.
LOCAL_WEIGHTS = {"balanced": (0.7, 0.18, 0.12), "quality": (0.85, 0.1, 0.05),
                 "speed": (0.35, 0.55, 0.1), "cost": (0.45, 0.15, 0.4)}
API_WEIGHTS = {"balanced": (0.75, 0.25), "quality": (0.92, 0.08), "speed": (0.6, 0.4), "cost": (0.3, 0.7)}
BENCH_SCALE = {"ocrbench": 1000.0}  # published on 0-1000; the others in percent
LOWER_IS_BETTER = {"omnidocbench"}  # edit distance


class Request(NamedTuple):
    task: TaskSpec | None
    workload: Workload
    priority: str = "balanced"
    local: bool = True
    api: bool = True
    runner: str | None = None  # ollama | transformers | llama.cpp | vllm
    max_cost_per_image: float | None = None
    commercial: bool = False
    include_unknown_licence: bool = False
    as_of: dt.date | None = None
    top: int = 5
    today: dt.date | None = None  # None: the real today
    # Smoke-test measurements on this machine: (model id, runner, quant) -> tokens/s that passed.
    measured: dict | None = None


class LocalPick(NamedTuple):
    model: ModelSpec
    placement: Placement
    quality: float
    score: float
    why: str
    command: str
    warnings: tuple = ()
    steps: NextSteps | None = None  # the command, what follows it, and what the user must decide

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


class Recommendation(NamedTuple):
    request: Request
    hardware: HardwareProfile
    local: list
    api: list
    excluded: list
    notes: list


# ---------------------------------------------------------------- quality


UNPUBLISHED_FACTOR = 0.9  # a missing benchmark counts as 90 % of the capability score


def task_quality(item: ModelSpec | ApiSpec, task: TaskSpec, best: dict | None = None) -> tuple[float, str]:
    """0..1: half the curated capability score, half the task's published benchmarks.

    Each score is taken relative to the best published score for that benchmark in the
    catalog (`best`), so benchmarks on different scales (OCRBench /1000, DocVQA %) weigh
    alike. Where a model publishes none of the task's benchmarks, that half is its
    capability score x UNPUBLISHED_FACTOR: publishing numbers never costs a model its place,
    and an unmeasured claim never beats a measured one of the same level.
    """
    caps = task.rank_capabilities
    wsum = sum(caps.values()) or 1.0
    cap_score = sum(w * min(item.cap(c), 3) / 3 for c, w in caps.items()) / wsum
    got = {b: w for b, w in task.rank_benchmarks.items() if b in item.benchmarks}
    rated = ", ".join(f"{c} {item.cap(c)}/3" for c in sorted(caps, key=caps.get, reverse=True)[:2])
    if not got:
        bench = cap_score * UNPUBLISHED_FACTOR
        return 0.5 * cap_score + 0.5 * bench, (
            f"rated {rated} (no {'/'.join(task.rank_benchmarks) or 'benchmark'} score published)")
    best = best or {}
    bench = 0.0
    for b, w in got.items():
        v, top = item.benchmarks[b], best.get(b)
        if b in LOWER_IS_BETTER:
            rel = (top / v) if top and v > 0 else 1.0
        else:
            rel = (v / top) if top else v / BENCH_SCALE.get(b, 100.0)
        bench += w * min(rel, 1.0)
    bench /= sum(got.values())
    shown = ", ".join(f"{b} {item.benchmarks[b]:g}" for b in got)
    return 0.5 * cap_score + 0.5 * bench, f"{shown}; rated {rated}"


def best_scores(catalog: Catalog) -> dict:
    """The best published score of each benchmark across the catalog (lowest for edit distances)."""
    best: dict = {}
    for item in [*catalog.models.values(), *catalog.apis.values()]:
        for b, v in item.benchmarks.items():
            if b not in best:
                best[b] = v
            else:
                best[b] = min(best[b], v) if b in LOWER_IS_BETTER else max(best[b], v)
    return best


def capable(item: ModelSpec | ApiSpec, task: TaskSpec) -> str | None:
    """None when the model can do the task, else why not."""
    for cap, need in task.needs.items():
        if item.cap(cap) < need:
            have = item.cap(cap)
            return f"cannot do {task.id}: {cap} is {have} (needs {need})" if have == 0 else \
                f"too weak for {task.id}: {cap} {have}/3 (needs {need})"
    return None


# ---------------------------------------------------------------- local ranking


def _speed_score(tps: float) -> float:
    return max(0.0, min(1.0, math.log10(max(tps, 0.1)) / math.log10(150)))


def _evaluate(m: ModelSpec, q: Quant, runner: str, hw: HardwareProfile, req: Request, quality: float) -> LocalPick | None:
    pl = place(m, q, runner, hw, req.workload)
    if pl is None:
        return None
    mode, share, usable, speed = pl.mode, pl.gpu_share, pl.usable_gib, pl.speed
    seen = (req.measured or {}).get((m.id, runner, q.id))
    if seen and mode in ("gpu", "multi-gpu"):
        # A passed smoke test on this GPU beats the model: decode at the measured rate.
        tps = float(seen["tokens_per_s"])
        decode_s = req.workload.max_new_tokens / tps
        speed = speed._replace(tokens_per_s=tps, decode_s=decode_s,
                               seconds_per_image=speed.vision_s + speed.prefill_s + decode_s,
                               basis=f"measured by `vlmselect smoke` on {seen.get('gpu')} ({seen.get('time', '')[:10]})")
        pl = pl.with_speed(speed)
    headroom = pl.headroom_gib
    qual = quality * q.quality
    wq, ws, wf = LOCAL_WEIGHTS[req.priority]
    fit_score = 0.0 if headroom is None or usable is None else max(0.0, min(1.0, headroom / max(usable, 1)))
    mode_factor = {"gpu": 1.0, "multi-gpu": 0.95, "offload": 0.6, "cpu": 0.5}[mode]
    score = (wq * qual + ws * _speed_score(speed.tokens_per_s) + wf * fit_score) * mode_factor
    if m.trust_remote_code and runner in ("transformers", "vllm"):
        score *= REMOTE_CODE_FACTOR
    warnings = []
    if q.id in LOW_QUALITY:
        warnings.append(f"{q.id} is a heavy quantization: expect visibly worse answers than 4-bit")
    if mode == "offload":
        off = 1 - share
        warnings.append(("under 1 %" if off < 0.01 else f"{off:.0%}") + " of the weights run from system RAM: slow")
    if m.trust_remote_code and runner in ("transformers", "vllm"):
        warnings.append(f"{m.hf_repo} runs custom code from its repository (--trust-remote-code)")
    frames = filters.video_note(m, req.workload)
    if frames:
        warnings.append(frames)
    steps = next_steps(m, pl, req.workload)
    return LocalPick(model=m, placement=pl, quality=qual, score=score, why="", command=steps.command,
                     warnings=tuple(warnings), steps=steps)


def _choose(options: list[LocalPick], priority: str) -> LocalPick:
    """The pick for one model: highest precision on GPU (or by score for speed/cost), then others."""
    on_gpu = [o for o in options if o.fits and o.quant.id not in LOW_QUALITY]
    pool = on_gpu or [o for o in options if o.fits] or options
    if priority in ("balanced", "quality") and on_gpu:
        best_bits = max(o.quant.bits for o in pool)
        pool = [o for o in pool if o.quant.bits == best_bits]
    return max(pool, key=lambda o: o.score)


def _why(p: LocalPick, quality_basis: str, task: TaskSpec | None) -> str:
    bits = []
    if p.mode == "gpu":
        bits.append(f"fits one GPU at {p.quant.id} with {p.headroom_gib:.1f} GiB to spare")
    elif p.mode == "multi-gpu":
        how = "tensor parallel" if p.runner == "vllm" else "layers split"
        bits.append(f"needs {p.gpus_used} GPUs ({how})")
    elif p.mode == "offload":
        bits.append(f"does not fit in VRAM: {p.mem.total_gib:.1f} GiB needed, so layers run from RAM"
                    + (f" ({what_it_takes(p.mem, p.usable_gib)})" if (p.usable_gib or 0) > 1 else ""))
    else:
        bits.append("runs on the CPU")
    bits.append(quality_basis.split(";")[0])
    if p.speed.basis.startswith("measured"):
        bits.append(f"{p.speed.tokens_per_s:.0f} tok/s {p.speed.basis}")
    if task is not None and task.video and p.model.cap("video") == 1:
        bits.append("no native video: feed sampled frames as images")
    if p.model.is_moe:
        bits.append(f"MoE: {p.model.params_active_b:g}B of {p.model.params_total_b:g}B active per token")
    return "; ".join(bits)


def recommend(catalog: Catalog, hw: HardwareProfile, req: Request) -> Recommendation:
    best = best_scores(catalog)
    excluded: list[Excluded] = []
    notes: list[str] = []
    local: list[LocalPick] = []
    if req.local:
        for m in catalog.models.values():
            reason = _filter(m, req)
            if reason:
                excluded.append(reason)
                continue
            runners = runners_for(m)
            if req.runner:
                if req.runner not in runners:
                    excluded.append(Excluded(m.id, f"no {req.runner} artifact in the catalog (has: {', '.join(runners) or 'none'})",
                                             "runner"))
                    continue
                runners = [req.runner]
            able = [r for r in runners if filters.runner_available(m, r, req.as_of) is None]
            if not able:
                excluded.append(Excluded(m.id, "; ".join(filters.runner_available(m, r, req.as_of) for r in runners),
                                         "as-of"))
                continue
            runners = able
            pick = _best(m, runners, hw, req, best)
            if pick is None:
                excluded.append(filters.no_fit(m, hw, req.workload, runners, req.as_of))
                continue
            local.append(pick)
        local.sort(key=lambda p: p.score, reverse=True)

    apis: list[ApiPick] = []
    if req.api:
        on = req.as_of or req.today or dt.date.today()
        for a in catalog.apis.values():
            reason = _filter(a, req)
            if reason is None and a.status(on) == "retired":
                reason = Excluded(a.id, f"retired on {a.retired}" + (f"; successor: {a.successor}" if a.successor else ""),
                                  "retired")
            cost = api_cost(a, req.workload)
            if reason is None and req.max_cost_per_image is not None and cost.usd > req.max_cost_per_image:
                reason = Excluded(a.id, f"${cost.usd:.4f} per image is over --max-cost-per-image {req.max_cost_per_image:g}",
                                  "cost")
            if reason:
                excluded.append(reason)
                continue
            quality, qbasis = task_quality(a, req.task, best)
            wq, wc = API_WEIGHTS[req.priority]
            cost_score = max(0.0, min(1.0, 1 - math.log10(max(cost.usd, 1e-5) / 1e-5) / 4))  # $0.00001 -> 1, $0.1 -> 0
            status = a.status(on)
            score = (wq * quality + wc * cost_score) * (0.9 if status == "deprecated" else 1.0)
            why = f"{qbasis.split(';')[0]}; ${cost.usd:.4f} per {cost.per}"
            if req.as_of and a.price_as_of and a.price_as_of > req.as_of:
                why += f"; price as of {a.price_as_of}, after --as-of {req.as_of} (the price then is not in the catalog)"
            if status == "deprecated":
                why += f"; deprecated since {a.deprecated}, retires {a.retired or 'soon'}"
            if req.task.video:
                why += "; native video input" if a.cap("video") >= 2 else "; no native video: send sampled frames"
            apis.append(ApiPick(a, cost, status, quality, score, why))
        apis.sort(key=lambda p: p.score, reverse=True)

    if not hw.usable_gpus and req.local:
        notes.append("no GPU: local options run on the CPU (slow); hosted APIs are listed too")
    if req.local and not local:
        notes.append("no local model: " + _emptied_by(excluded, set(catalog.models)))
    if req.api and not apis:
        notes.append("no hosted API: " + _emptied_by(excluded, set(catalog.apis)))
    return Recommendation(req, hw, local[: req.top], apis[: req.top], excluded, notes)


FILTER_NAMES = {"as-of": "--as-of", "capability": "the task's needs", "licence": "--commercial",
                "runner": "--runner", "artifact": "no artifact", "hardware": "this hardware", "context": "--context",
                "images": "--images", "memory": "memory", "retired": "retirement", "cost": "--max-cost-per-image"}


def _emptied_by(excluded: list, ids: set) -> str:
    """Which filters emptied a list, most first: '12 by --as-of, 3 by memory'."""
    counts: dict = {}
    for e in excluded:
        if e.id in ids:
            counts[e.kind] = counts.get(e.kind, 0) + 1
    if not counts:
        return "none in the catalog"
    parts = sorted(counts.items(), key=lambda kv: -kv[1])
    return "excluded " + ", ".join(f"{n} by {FILTER_NAMES.get(k, k)}" for k, n in parts) + " (--explain lists each)"


def _with_why(p: LocalPick, qbasis: str, task: TaskSpec | None) -> LocalPick:
    return p._replace(why=_why(p, qbasis, task))


def _filter(item: ModelSpec | ApiSpec, req: Request) -> Excluded | None:
    """The model-level filters, in the order a user thinks of them."""
    if req.as_of and item.released > req.as_of:
        return Excluded(item.id, f"released {item.released}, after --as-of {req.as_of}", "as-of")
    if req.task is not None:
        reason = capable(item, req.task)
        if reason:
            return Excluded(item.id, reason, "capability")
    why = filters.licence_reason(item, req.commercial, req.include_unknown_licence)
    if why:
        return Excluded(item.id, why, "licence")
    if isinstance(item, ModelSpec):
        why = filters.images_reason(item, req.workload)
        if why:
            return Excluded(item.id, why, "images")
    return None


def _quality(m: ModelSpec, req: Request, best: dict) -> tuple[float, str]:
    if req.task is None:  # pull / estimate without --task: every option of one model alike
        return 1.0, "no task given"
    return task_quality(m, req.task, best)


def _best(m: ModelSpec, runners: list[str], hw: HardwareProfile, req: Request, best: dict) -> LocalPick | None:
    """The one pick for a model: the same for recommend, estimate and pull."""
    quality, qbasis = _quality(m, req, best)
    options = _options(m, runners, hw, req, quality, req.priority in ("balanced", "quality"))
    return _with_why(_choose(options, req.priority), qbasis, req.task) if options else None


def best_for_model(catalog: Catalog, hw: HardwareProfile, req: Request, model_id: str,
                   runners: list[str] | None = None) -> LocalPick | None:
    """What `recommend` would pick for this model (for `pull` and `estimate`)."""
    m = catalog.models[model_id]
    runners = runners or ([req.runner] if req.runner else runners_for(m))
    return _best(m, runners, hw, req, best_scores(catalog))


def alternatives(catalog: Catalog, hw: HardwareProfile, req: Request, model_id: str) -> list[LocalPick]:
    """Every (runner, quant) placement of one model, best first: for `estimate` and `pull`."""
    m = catalog.models[model_id]
    quality, qbasis = _quality(m, req, best_scores(catalog))
    runners = [req.runner] if req.runner else runners_for(m)
    out = [_with_why(p, qbasis, req.task) for p in _options(m, runners, hw, req, quality, prune=False)]
    return sorted(out, key=lambda p: (p.fits, p.quant.id not in LOW_QUALITY, p.quant.bits, p.score), reverse=True)


def _options(m: ModelSpec, runners: list[str], hw: HardwareProfile, req: Request, quality: float,
             prune: bool) -> list[LocalPick]:
    """Every placement of `m` over runners and quants. With `prune`, a runner stops at its first
    good fit: quants come best first, and a lower one would lose to it in _choose anyway."""
    out = []
    for runner in runners:
        for q in quant_options(m, runner, hw):
            pick = _evaluate(m, q, runner, hw, req, quality)
            if pick and filters.context_reason(m, pick.mem, req.workload) is None:
                out.append(pick)
                if prune and pick.fits and q.id not in LOW_QUALITY:
                    break
    return out
