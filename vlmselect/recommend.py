"""Rank models for a task on a machine. Pure: no I/O, no rich; one path for every command.

For each model that can do the task, for each runner it can run on, the quantization is
chosen (the highest precision that fits, or what the priority asks for), placed on the
hardware (one GPU, several, CPU offload, CPU only), then ordered as the priority says
(vlmselect/ranking.py; docs/ranking.md): quality is the lower bound of the task quality fitted
from independent boards and published benchmarks (vlmselect/quality.py). Hosted APIs alike,
with $ per image for cost.
"""

import datetime as dt
from typing import Any, NamedTuple

from vlmselect import filters, ranking
from vlmselect.catalog import ApiSpec, Catalog, ModelSpec, TaskSpec
from vlmselect.commands import NextSteps, next_steps, trust_note
from vlmselect.cost import CostEstimate, api_cost
from vlmselect.filters import Excluded
from vlmselect.hardware.types import HardwareProfile
from vlmselect.memory import MemoryEstimate, Workload, estimate_memory
from vlmselect.placement import Placement, place, quant_options, runners_for, what_it_takes
from vlmselect.quality import Quality, for_task
from vlmselect.quant import LOW_QUALITY, Quant
from vlmselect.speed import SpeedEstimate

PRIORITIES = ("balanced", "quality", "speed", "cost")
# Loading a repository's own Python code is a real cost (security review, breakage with new
# transformers releases): inside a statistical tie, the model that needs none goes first.
DEPRECATED_PENALTY = 0.05  # quality-bound points: a deprecated API loses ties to a current one


class Request(NamedTuple):
    task: TaskSpec | None  # None: pull / estimate without --task (every option of a model alike)
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
    measured: dict[tuple[str, str, str], dict[str, Any]] | None = None


class LocalPick(NamedTuple):
    model: ModelSpec
    placement: Placement
    quality: float  # estimate after the quantization's loss (vlmselect.quality, 0..1)
    score: float
    why: str
    command: str
    warnings: tuple[str, ...] = ()
    quality_low: float = 0.0  # lower end of the 80 % interval, after the quantization's loss
    quality_high: float = 0.0
    q: Quality | None = None  # the fit behind it: evidence, prior, interval
    tie: bool = False  # a statistical tie with its neighbours (ordered by speed inside it)
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
    quality_low: float = 0.0
    quality_high: float = 0.0
    q: Quality | None = None
    tie: bool = False
    penalty: float = 0.0  # taken off quality_low for ranking only (deprecated); the interval shown is the fit's


class Recommendation(NamedTuple):
    request: Request
    hardware: HardwareProfile
    local: list[LocalPick]
    api: list[ApiPick]
    excluded: list[Excluded]
    notes: list[str]


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


def _evaluate(m: ModelSpec, q: Quant, runner: str, hw: HardwareProfile, req: Request, quality: Quality,
              mem: MemoryEstimate | None = None, explain: bool = True) -> LocalPick | None:
    """The pick for `m` at `q` on `runner`, or None when it cannot run here. Ranking evaluates
    without `explain` (no basis strings); _finish evaluates the shown picks again with it."""
    pl = place(m, q, runner, hw, req.workload, mem, explain)
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
        off = 1 - share
        warnings.append(("under 1 %" if off < 0.01 else f"{off:.0%}") + " of the weights run from system RAM: slow")
    if m.trust_remote_code and runner in ("transformers", "vllm"):
        warnings.append(trust_note(m))  # the opt-in is the user's: never a flag already filled in
    frames = filters.video_note(m, req.workload)
    if frames:
        warnings.append(frames)
    # `why` and the next steps are written by _finish, only for the picks that are shown.
    pick = LocalPick(model=m, placement=pl, quality=quality.estimate * q.quality, score=0.0, why="",
                     command="", warnings=tuple(warnings),
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


def _why(p: LocalPick, task: TaskSpec | None) -> str:
    bits = []
    if p.mode == "gpu":
        bits.append(f"fits one GPU at {p.quant.id} with {p.headroom_gib:.1f} GiB to spare")
    elif p.mode == "multi-gpu":
        how = "tensor parallel" if p.runner == "vllm" else "layers split"
        bits.append(f"needs {p.gpus_used} GPUs ({how})")
    elif p.mode == "offload":
        bits.append(f"does not fit in VRAM: {p.mem.total_gib:.1f} GiB needed, so layers run from RAM"
                    + (f" ({what_it_takes(p.mem, p.usable_gib)})" if p.usable_gib is not None and p.usable_gib > 1 else ""))
    else:
        bits.append("runs on the CPU")
    if p.q is not None and task is not None:
        bits.append(p.q.summary())
    if ranking.quant_why(p.quant):
        bits.append(ranking.quant_why(p.quant))
    if p.speed.basis.startswith("measured"):
        bits.append(f"{p.speed.tokens_per_s:.0f} tok/s {p.speed.basis}")
    if task is not None and task.video and p.model.cap("video") == 1:
        bits.append("no native video: feed sampled frames as images")
    if p.model.is_moe:
        bits.append(f"MoE: {p.model.params_active_b:g}B of {p.model.params_total_b:g}B active per token")
    return "; ".join(bits)


def _remote_code(p: LocalPick) -> bool:
    return bool(p.model.trust_remote_code and p.runner in ("transformers", "vllm"))


def _tied(p: LocalPick) -> LocalPick:
    return p._replace(why=p.why + "; statistical tie with its neighbours: ordered by speed") if p.tie else p


def recommend(catalog: Catalog, hw: HardwareProfile, req: Request) -> Recommendation:
    quals = _qualities(catalog, req)
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
                excluded.append(Excluded(m.id, "; ".join(filters.runner_available(m, r, req.as_of) or "" for r in runners),
                                         "as-of"))
                continue
            tried: dict[tuple[str, str], tuple[MemoryEstimate, bool]] = {}
            pick = _best(m, able, hw, req, quals[m.id], tried)
            if pick is None:
                excluded.append(filters.no_fit(m, hw, req.workload, able, req.as_of, tried))
                continue
            local.append(pick)
        ranked = ranking.order(local, req.priority, ranking.local_key,
                               lambda p: (_remote_code(p), p.speed.seconds_per_image))
        local = [_tied(_finish(p, hw, req)) for p in ranked[: req.top]]

    apis: list[ApiPick] = []
    if req.api:
        on = req.as_of or req.today or dt.date.today()
        for a in catalog.apis.values():
            reason = _filter(a, req)
            if reason is None and a.status(on) == "retired":
                reason = Excluded(a.id, filters.retired_reason(a, catalog.apis, on), "retired")
            cost = api_cost(a, req.workload)
            if reason is None and req.max_cost_per_image is not None and cost.usd > req.max_cost_per_image:
                reason = Excluded(a.id, f"${cost.usd:.4f} per {cost.per} is over --max-cost-per-image"
                                        f" {req.max_cost_per_image:g}", "cost")
            if reason:
                excluded.append(reason)
                continue
            qa = quals[a.id]
            status = a.status(on)
            pen = DEPRECATED_PENALTY if status == "deprecated" else 0.0
            why = f"{qa.summary()}; ${cost.usd:.4f} per {cost.per}"
            if req.as_of and a.price_as_of and a.price_as_of > req.as_of:
                why += f"; price as of {a.price_as_of}, after --as-of {req.as_of} (the price then is not in the catalog)"
            if status == "deprecated":
                why += (f"; deprecated since {a.deprecated}, retires {a.retired or 'soon'}"
                        f" (ranked as if its quality bound were {pen:g} lower)")
            if req.task is not None and req.task.video:
                why += "; native video input" if a.cap("video") >= 2 else "; no native video: send sampled frames"
            api_pick = ApiPick(a, cost, status, qa.estimate, 0.0, why, quality_low=qa.low - pen, quality_high=qa.high,
                               q=qa, penalty=pen)
            apis.append(api_pick._replace(score=ranking.api_key(api_pick, req.priority)))
        apis = [p._replace(why=p.why + "; statistical tie with its neighbours: ordered by price") if p.tie else p
                for p in ranking.order(apis, req.priority, ranking.api_key, lambda p: p.cost.usd)]

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


def _emptied_by(excluded: list[Excluded], ids: set[str]) -> str:
    """Which filters emptied a list, most first: '12 by --as-of, 3 by memory'."""
    counts: dict[str, int] = {}
    for e in excluded:
        if e.id in ids:
            counts[e.kind] = counts.get(e.kind, 0) + 1
    if not counts:
        return "none in the catalog"
    parts = sorted(counts.items(), key=lambda kv: -kv[1])
    return "excluded " + ", ".join(f"{n} by {FILTER_NAMES.get(k, k)}" for k, n in parts) + " (--explain lists each)"


def _finish(p: LocalPick, hw: HardwareProfile, req: Request) -> LocalPick:
    """What a shown pick carries beyond its rank: the basis of its estimates, `why` and the commands
    to run it. Written only for the picks that are shown (ranking evaluates ~300 placements)."""
    full = _evaluate(p.model, p.quant, p.runner, hw, req, p.q, explain=True) if p.q is not None else None
    if full is not None:
        p = p._replace(placement=full.placement)
    steps = next_steps(p.model, p.placement, req.workload)
    return p._replace(why=_why(p, req.task), command=steps.command, steps=steps)


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


def _qualities(catalog: Catalog, req: Request) -> dict[str, Quality]:
    """Each model's quality for the task; without a task (pull, estimate) every option of a model
    carries the same neutral quality, so its placement and quant alone decide."""
    if req.task is None:
        from vlmselect.quality import Quality

        neutral = Quality(0.5, 0.5, 0.5, 0.0, 0.0, 0.5, "prior", ())
        return {k: neutral for k in [*catalog.models, *catalog.apis]}
    return for_task(catalog, req.task, req.as_of)


def _best(m: ModelSpec, runners: list[str], hw: HardwareProfile, req: Request, quality: Quality,
          tried: dict[tuple[str, str], tuple[MemoryEstimate, bool]] | None = None) -> LocalPick | None:
    """The one pick for a model: the same for recommend, estimate and pull."""
    options = _options(m, runners, hw, req, quality, req.priority in ("balanced", "quality"), tried)
    return _choose(options, req.priority) if options else None


def best_for_model(catalog: Catalog, hw: HardwareProfile, req: Request, model_id: str,
                   runners: list[str] | None = None) -> LocalPick | None:
    """What `recommend` would pick for this model (for `pull` and `estimate`)."""
    m = catalog.models[model_id]
    runners = runners or ([req.runner] if req.runner else runners_for(m))
    pick = _best(m, runners, hw, req, _qualities(catalog, req)[model_id])
    return _finish(pick, hw, req) if pick else None


def alternatives(catalog: Catalog, hw: HardwareProfile, req: Request, model_id: str) -> list[LocalPick]:
    """Every (runner, quant) placement of one model, best first: for `estimate` and `pull`."""
    m = catalog.models[model_id]
    quality = _qualities(catalog, req)[model_id]
    runners = [req.runner] if req.runner else runners_for(m)
    out = [_finish(p, hw, req) for p in _options(m, runners, hw, req, quality, prune=False)]
    return sorted(out, key=lambda p: (p.fits, p.quant.id not in LOW_QUALITY, p.quant.bits, p.score), reverse=True)


def _options(m: ModelSpec, runners: list[str], hw: HardwareProfile, req: Request, quality: Quality,
             prune: bool, tried: dict[tuple[str, str], tuple[MemoryEstimate, bool]] | None = None) -> list[LocalPick]:
    """Every placement of `m` over runners and quants. With `prune` (the priorities under which
    _choose keeps only the most bits among good GPU fits), a runner stops at its first good fit,
    and quants with fewer bits than a good fit already found are not tried: they would lose to it
    in _choose anyway. `tried` collects {(runner, quant id): (estimate, placed)} of every option
    tried, so that filters.no_fit can say why none runs without estimating them again."""
    options = [(i, runner, quant_options(m, runner, hw)) for i, runner in enumerate(runners)]
    if prune:  # runners with the most bits on offer first: a good fit there rules out the others' fewer bits
        options.sort(key=lambda o: -max((q.bits for q in o[2]), default=0.0))
    out = []
    best_bits = 0.0
    for i, runner, quants in options:
        for q in quants:
            if prune and q.bits < best_bits:
                continue
            mem = estimate_memory(m, q, runner, req.workload, explain=False)
            pick = _evaluate(m, q, runner, hw, req, quality, mem, explain=False)
            if tried is not None:
                tried[runner, q.id] = (mem, pick is not None)
            if pick and filters.context_reason(m, pick.mem, req.workload) is None:
                out.append((i, pick))
                if prune and pick.fits and q.id not in LOW_QUALITY:
                    best_bits = max(best_bits, q.bits)
                    break
    return [p for _, p in sorted(out, key=lambda ip: ip[0])]  # runner order, as _choose's ties expect
