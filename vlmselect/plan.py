"""Work at volume: images per hour on a serving engine, replicas to meet a deadline, cost per image.

Pure: facts in (catalog entries, a machine, a workload, a volume), a plan out. One replica is
a vLLM server (continuous batching) on `tp` GPUs. Its model, in the estimator's own terms:

    KV pool      = gpu_memory_utilization x VRAM x tp - weights - (compute + overhead) x tp
    concurrency  = min(KV pool // KV of one request, max_num_seqs)
    prefill      = (2 x active text params x prompt tokens + 2 x vision params x patches) / (eta_c x FLOPS x tp)
    decode step  = max(bytes read / (eta_m x bandwidth), 2 x active params x B / (eta_c x FLOPS)) + t_step
    throughput   = B / (B x prefill + new tokens x decode step(B))     requests/s, B in flight
    latency      = B / throughput                                       (Little's law)

Prefill and vision encoding are compute-bound work every request pays; decode reads the weights
once per step for the whole batch, which is why batching multiplies throughput until compute or
the KV pool stops it. Constants are the estimator's (speed.py), so `plan` and `estimate` agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vlmselect.catalog import ApiSpec, Catalog, ModelSpec, TaskSpec
from vlmselect.cost import api_cost
from vlmselect.errors import UsageError
from vlmselect.hardware.types import GpuInfo, HardwareProfile
from vlmselect.memory import MemoryEstimate, Workload, estimate_memory
from vlmselect.quant import Quant
from vlmselect.speed import (ETA_COMPUTE, ETA_MEM, T_STEP_S, TP_EFFICIENCY, active_text_b, kv_filled_bytes,
                             weights_per_token)
from vlmselect.units import GIB

# vLLM's defaults, each where vLLM sets it.
VLLM_GPU_MEMORY_UTILIZATION = 0.9  # vllm/config/cache.py CacheConfig.gpu_memory_utilization (v0.6 .. v0.11)
# vllm/engine/arg_utils.py EngineArgs.get_batch_defaults (v0.9+): `vllm serve` (OPENAI_API_SERVER)
# gets max_num_seqs 1024 on GPUs with >= 70 GiB that are not A100s, else 256.
VLLM_MAX_NUM_SEQS_SMALL, VLLM_MAX_NUM_SEQS_LARGE = 256, 1024
TP_SIZES = (1, 2, 4, 8)

# Batch discounts on the providers' own pricing pages (both input and output tokens).
BATCH_DISCOUNT = {
    "openai": (0.5, "https://platform.openai.com/docs/guides/batch"),
    "anthropic": (0.5, "https://docs.anthropic.com/en/docs/build-with-claude/batch-processing"),
    "google": (0.5, "https://ai.google.dev/gemini-api/docs/batch-mode"),
}
# Default electricity price: U.S. all-sector average retail price, 12.7 cents/kWh in 2023 (EIA data,
# read in an aggregator's summary: flagged as such). Pass --power-price for your own tariff.
DEFAULT_POWER_PRICE = 0.127
POWER_PRICE_SOURCE = ("EIA all-sector U.S. average 2023, 12.7 c/kWh, via "
                      "https://datasetsearch.research.google.com/search?query=energy+prices+us (aggregator)")

HOURS_PER_YEAR = 8766  # 365.25 days
AMORTIZE_SOURCE = "IRS Publication 946, MACRS: computers and peripheral equipment are 5-year property, https://www.irs.gov/publications/p946"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|days|w|wk)?\s*$", re.I)
_UNIT_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400,
           "days": 86400, "w": 604800, "wk": 604800}


def parse_duration(text: str) -> float:
    """'90m', '24h', '3d', '1w' or plain seconds -> seconds."""
    m = _DURATION.match(text or "")
    if not m or float(m.group(1)) <= 0:
        raise UsageError(f"--within must be a duration like 24h, 90m, 3d or 1w, got {text!r}",
                         "for example --within 24h")
    return float(m.group(1)) * _UNIT_S[(m.group(2) or "s").lower()]


@dataclass(frozen=True)
class Volume:
    images: int | None = None  # a pile of this many images ...
    within_s: float | None = None  # ... to finish within this many seconds
    rate_per_s: float | None = None  # or a steady arrival rate


@dataclass(frozen=True)
class Costs:
    power_price_usd_kwh: float = DEFAULT_POWER_PRICE
    gpu_hour_price_usd: float | None = None  # rented GPUs: per GPU-hour
    gpu_price_usd: float | None = None  # owned GPUs: purchase price per GPU, for the break-even volume
    amortize_years: float = 5.0  # IRS Publication 946 (MACRS): computers are 5-year property


@dataclass(frozen=True)
class Point:
    concurrency: int
    images_per_hour: float
    latency_s: float


@dataclass
class Replica:
    """One vLLM server on `tp` GPUs, at its best concurrency."""

    model: ModelSpec
    quant: Quant
    tp: int
    mem: MemoryEstimate  # one request's estimate at this quant
    kv_pool_gib: float
    kv_per_request_gib: float
    max_concurrency_kv: int
    max_num_seqs: int
    concurrency: int
    prefill_s: float  # vision + prefill of one request on the whole replica
    step_s: float  # one decode step at `concurrency`
    images_per_hour: float
    latency_s: float
    curve: list[Point] = field(default_factory=list)
    basis: dict[str, Any] = field(default_factory=dict)
    source: str = "estimate"  # or "measured: <bench record>"


@dataclass
class ApiLine:
    api: ApiSpec
    usd_per_image: float
    batch_usd_per_image: float | None
    batch_source: str | None
    breakeven_images: float | None  # local becomes cheaper beyond this volume (owned GPUs)


@dataclass
class Plan:
    replica: Replica
    replicas: int  # needed for the volume or rate (or available, when nothing is asked)
    gpus: int
    nodes: int
    replicas_available: int
    hours: float | None  # the job on what is needed
    hours_available: float | None  # the job on what there is
    meets: bool | None
    local_usd_per_image: float | None
    energy_kwh_per_image: float | None
    cost_basis: str
    amortised_usd_per_image: float | None = None  # energy + the purchase spread over its life at full use
    quality: float = 0.0
    why: str = ""
    apis: list[ApiLine] = field(default_factory=list)


def _max_num_seqs(g: GpuInfo) -> int:
    big = (g.vram_total_gib or 0) >= 70 and "a100" not in g.name.lower()
    return VLLM_MAX_NUM_SEQS_LARGE if big else VLLM_MAX_NUM_SEQS_SMALL


def throughput(m: ModelSpec, mem: MemoryEstimate, w: Workload, g: GpuInfo, tp: int, batch: int) -> tuple[float, float, float]:
    """(requests/s, prefill s per request, decode step s) with `batch` requests in flight."""
    tflops = (g.fp16_tflops or 20.0) * 1e12 * ETA_COMPUTE * tp
    bw = (g.bandwidth_gbps or 100.0) * 1e9 * ETA_MEM * (1 + (tp - 1) * TP_EFFICIENCY)
    active = active_text_b(m) * 1e9
    prompt = w.context + mem.image_tokens * w.images
    prefill = (2 * active * prompt + 2 * (m.params_vision_b or 0) * 1e9 * mem.encoder_patches * w.images) / tflops
    # The estimator's own per-step reads: weights once (active experts only for MoE), each sequence's KV.
    reads = weights_per_token(m, mem) + batch * kv_filled_bytes(mem, w)
    step = max(reads / bw, 2 * active * batch / tflops) + T_STEP_S["vllm"]
    rate = batch / (batch * prefill + w.max_new_tokens * step)
    return rate, prefill, step


def kv_capacity(pool_bytes: float, kv_bytes_per_token: float, tokens_per_request: int) -> tuple[int, float]:
    """(tokens the KV pool holds, requests of `tokens_per_request` it holds at once): what vLLM logs at
    start-up as `KV cache size: N tokens` and `Maximum concurrency for L tokens per request: Xx`
    (vllm/v1/core/kv_cache_utils.py; PR 13596 made it print tokens)."""
    tokens = int(pool_bytes // kv_bytes_per_token) if kv_bytes_per_token > 0 else 0
    return tokens, tokens / max(tokens_per_request, 1)


def replica(m: ModelSpec, q: Quant, g: GpuInfo, tp: int, w: Workload, max_seqs: int | None = None) -> Replica | None:
    """A vLLM replica of `m` at `q` on `tp` GPUs like `g`, or None when it cannot hold one request."""
    if m.arch.kv_heads % tp and tp % m.arch.kv_heads:
        return None  # tensor parallel splits the KV heads evenly
    mem = estimate_memory(m, q, "vllm", w)
    vram = g.vram_total_gib or 0.0
    pool = VLLM_GPU_MEMORY_UTILIZATION * vram * tp - mem.weights_gib - (mem.compute_gib + mem.overhead_gib) * tp
    per_req = mem.kv_cache_gib
    if per_req <= 0 or pool < per_req:
        return None
    # Tokens in flight share the pool; each request holds its whole window (the conservative side).
    _, fits = kv_capacity(pool * GIB, per_req * GIB / max(mem.context_tokens, 1), mem.context_tokens)
    kv_cap = int(fits)
    seqs = max_seqs or _max_num_seqs(g)
    best = min(kv_cap, seqs)
    images = max(w.images, 1)
    curve = []
    b = 1
    while True:
        rate, _, _ = throughput(m, mem, w, g, tp, b)
        curve.append(Point(b, rate * images * 3600, b / rate))
        if b >= best:
            break
        b = min(b * 2, best)
    rate, prefill, step = throughput(m, mem, w, g, tp, best)
    basis = {
        "kv_pool": (f"{VLLM_GPU_MEMORY_UTILIZATION} x {vram:.1f} GiB x {tp} GPU(s) - {mem.weights_gib:.1f} GiB weights"
                    f" - {mem.compute_gib + mem.overhead_gib:.2f} GiB activations/CUDA graphs per GPU"
                    f" = {pool:.1f} GiB (vLLM gpu_memory_utilization default)"),
        "concurrency": (f"{pool:.1f} GiB // {per_req * 1024:.0f} MiB KV per request ({mem.context_tokens} tokens)"
                        f" = {kv_cap}, capped by max_num_seqs {seqs}"),
        "throughput": (f"{best} in flight: {prefill * 1000:.0f} ms vision+prefill each, {step * 1000:.1f} ms per"
                       f" decode step x {w.max_new_tokens} tokens -> {rate:.2f} requests/s"),
    }
    return Replica(m, q, tp, mem, pool, per_req, kv_cap, seqs, best, prefill, step,
                   rate * images * 3600, best / rate, curve, basis)


def best_replica(m: ModelSpec, quants: list[Quant], g: GpuInfo, w: Workload, gpus_per_node: int,
                 nodes: int = 1) -> Replica | None:
    """Within one node: the highest-precision quant on the fewest GPUs that holds the model with room
    to batch. Across nodes, only when no quant fits one: the fewest GPUs first (pipeline stages over the
    network cost more than a lower precision), then the highest precision."""
    def first(pairs: Iterable[tuple[Quant, int]]) -> Replica | None:
        for q, tp in pairs:
            r = replica(m, q, g, tp, w)
            if r and r.concurrency >= 1:
                return r
        return None

    within = [tp for tp in TP_SIZES if tp <= gpus_per_node]
    across = [tp for tp in TP_SIZES if gpus_per_node < tp <= gpus_per_node * nodes]
    return (first((q, tp) for q in quants for tp in within)
            or first((q, tp) for tp in across for q in quants))


def batch_price(a: ApiSpec, w: Workload, usd: float) -> tuple[float | None, str | None]:
    """$ per image in the provider's batch mode: the entry's own batch prices, else its discount, else the
    provider's published discount; (None, None) where none is known."""
    price = (a.facts or {}).get("price") or {}
    if price.get("batch_input_per_mtok") is not None and price.get("batch_output_per_mtok") is not None:
        c = api_cost(a, w)
        return ((c.input_tokens * price["batch_input_per_mtok"] + c.output_tokens * price["batch_output_per_mtok"])
                / 1e6 / max(w.images, 1), price.get("source"))
    if price.get("batch_discount") is not None:
        return usd * (1 - price["batch_discount"]), price.get("source")
    disc = BATCH_DISCOUNT.get(a.provider)
    return (usd * (1 - disc[0]), disc[1]) if disc else (None, None)


def api_lines(apis: list[ApiSpec], w: Workload, local_marginal: float | None, fixed_usd: float | None) -> list[ApiLine]:
    out = []
    for a in apis:
        usd = api_cost(a, w).usd
        batch, source = batch_price(a, w, usd)
        cheapest = min(usd, batch) if batch is not None else usd
        be = None
        if fixed_usd is not None and local_marginal is not None and cheapest > local_marginal:
            be = fixed_usd / (cheapest - local_marginal)
        out.append(ApiLine(a, usd, batch, source, be))
    return sorted(out, key=lambda x: x.batch_usd_per_image if x.batch_usd_per_image is not None else x.usd_per_image)


def scale(r: Replica, g: GpuInfo, vol: Volume, gpus_per_node: int, nodes: int, costs: Costs, tdp_w: float | None) -> Plan:
    """Replicas, GPUs and nodes for the volume; the job's time on what there is; local cost per image."""
    per_node = max(gpus_per_node // r.tp, 0)
    available = per_node * nodes if per_node else (gpus_per_node * nodes) // r.tp  # replicas spanning nodes
    per_replica_s = r.images_per_hour / 3600
    if vol.rate_per_s:
        need = math.ceil(vol.rate_per_s / per_replica_s)
    elif vol.images and vol.within_s:
        need = math.ceil(vol.images / (per_replica_s * vol.within_s))
    else:
        need = max(available, 1)
    gpus = need * r.tp
    nodes_needed = math.ceil(gpus / max(gpus_per_node, 1))
    hours = vol.images / (per_replica_s * need) / 3600 if vol.images else None
    hours_avail = vol.images / (per_replica_s * available) / 3600 if vol.images and available else None
    meets = None
    if vol.images and vol.within_s:
        meets = hours_avail is not None and hours_avail * 3600 <= vol.within_s
    elif vol.rate_per_s:
        meets = available * per_replica_s >= vol.rate_per_s
    gpu_s_per_image = r.tp / per_replica_s
    kwh = tdp_w * gpu_s_per_image / 3.6e6 if tdp_w else None
    usd = kwh * costs.power_price_usd_kwh if kwh is not None else None
    basis = (f"{tdp_w:g} W board power per GPU (full load, an upper bound) x {gpu_s_per_image:.2f} GPU-s per image"
             f" x ${costs.power_price_usd_kwh:g}/kWh" if tdp_w else "board power unknown: energy not counted")
    if costs.power_price_usd_kwh == DEFAULT_POWER_PRICE:
        basis += f" (default: {POWER_PRICE_SOURCE})"
    if costs.gpu_hour_price_usd is not None:
        usd = (usd or 0.0) + costs.gpu_hour_price_usd * gpu_s_per_image / 3600
        basis += f" + ${costs.gpu_hour_price_usd:g} per GPU-hour"
    elif costs.gpu_price_usd is None:
        basis += "; hardware not counted (pass --gpu-hour-price, or --gpu-price for the break-even volume)"
    amortised = None
    if costs.gpu_price_usd is not None:
        per_gpu_hour = costs.gpu_price_usd / (costs.amortize_years * HOURS_PER_YEAR)
        amortised = (usd or 0.0) + per_gpu_hour * gpu_s_per_image / 3600
        basis += (f"; amortised: ${costs.gpu_price_usd:g} per GPU over {costs.amortize_years:g} years of full use"
                  f" = ${per_gpu_hour:.4f} per GPU-hour ({AMORTIZE_SOURCE}; idle hours raise it)")
    return Plan(r, need, gpus, nodes_needed, available, hours, hours_avail, meets, usd, kwh, basis, amortised)


def _use_measurement(r: Replica, g: GpuInfo) -> None:
    """A recorded `vlmselect bench` of this model on this GPU model replaces the estimated rate."""
    from vlmselect.bench import measured_rate
    from vlmselect.deploy import model_repo

    found = measured_rate({r.model.id, r.model.hf_repo, model_repo(r.model, r.quant)}, g.name, r.concurrency)
    if found:
        rate, rec = found
        r.basis["throughput"] += f"; replaced by a measurement: {rate:,.0f} images/h ({rec.get('when')}, {rec.get('server')})"
        r.images_per_hour, r.source = rate, f"measured: bench {rec.get('when')}"


def local_candidates(cat: Catalog, task: TaskSpec | None, model_id: str | None) -> list[ModelSpec]:
    from vlmselect.recommend import capable

    if model_id:
        m = cat.model(model_id)
        if not isinstance(m, ModelSpec):
            raise UsageError(f"{m.id} is a hosted API: nothing to deploy", "plan a local model, or a --task")
        if not m.runners.get("vllm"):
            raise UsageError(f"{m.id} has no vLLM support in the catalog", "plan another model, or a --task")
        return [m]
    return [m for m in cat.models.values() if m.runners.get("vllm") and (task is None or not capable(m, task))]


def make_plans(cat: Catalog, hw: HardwareProfile, task: TaskSpec | None, model_id: str | None, w: Workload,
               vol: Volume, nodes: int, costs: Costs, top: int = 5) -> tuple[list[Plan], list[ApiLine], list[str]]:
    """Ranked local plans, API lines and why candidates were left out."""
    from vlmselect.placement import quant_options
    from vlmselect.quality import for_task
    from vlmselect.recommend import capable

    gpus = hw.usable_gpus
    if not gpus:
        raise UsageError("plan needs a GPU to serve on", "describe one: --gpu 'H100' --gpu-count 8")
    g = max(gpus, key=lambda x: x.vram_total_gib or 0)
    spec = cat.gpu_by_name(g.name)
    tdp = getattr(spec, "tdp_w", None) if spec else None
    quals = for_task(cat, task) if task else {}
    plans, skipped = [], []
    for m in local_candidates(cat, task, model_id):
        r = best_replica(m, quant_options(m, "vllm", hw), g, w, len(gpus), nodes)
        if r is None:
            skipped.append(f"{m.id}: no vLLM placement on up to {len(gpus) * nodes} x {g.name}")
            continue
        _use_measurement(r, g)
        p = scale(r, g, vol, len(gpus), nodes, costs, tdp)
        if task:
            # the quality bound `recommend --priority quality` ranks by (vlmselect.quality)
            p.quality, p.why = quals[m.id].low * r.quant.quality, quals[m.id].summary()
        plans.append(p)
    # Those that meet the deadline first; then quality; then throughput.
    plans.sort(key=lambda p: (p.meets is not False, round(p.quality, 2), p.replica.images_per_hour), reverse=True)
    import datetime as dt

    today = dt.date.today()
    apis = [a for a in cat.apis.values()
            if a.status(today) != "retired" and (task is None or not capable(a, task))]
    marginal = plans[0].local_usd_per_image if plans else None
    fixed = costs.gpu_price_usd * plans[0].gpus if plans and costs.gpu_price_usd else None
    return plans[:top], api_lines(apis, w, marginal, fixed), skipped
