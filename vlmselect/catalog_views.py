"""Views over the catalog that several commands share: VRAM columns, task listings, one estimate."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from vlmselect.catalog import Catalog, ModelSpec, TaskSpec, gb_to_gib
from vlmselect.hardware.types import HardwareProfile
from vlmselect.memory import Workload, estimate_memory
from vlmselect.quant import QUANTS, quant

if TYPE_CHECKING:
    from collections.abc import Callable

    from vlmselect.catalog import ApiSpec
    from vlmselect.memory import MemoryEstimate
    from vlmselect.quant import Quant
    from vlmselect.recommend import LocalPick
    from vlmselect.runtimes import Runtime

# `models` reports each model at three precisions on one runner (llama.cpp: F16, Q8_0, Q4_K_M GGUF),
# so the columns differ only by the weights, at the default workload.
VRAM_COLUMNS = {"fp16": ("fp16", "llama.cpp"), "q8": ("q8_0", "llama.cpp"), "q4": ("q4_k_m", "llama.cpp")}


def model_vram(m: ModelSpec, w: Workload | None = None) -> dict[str, float]:
    w = w or Workload()
    return {col: round(estimate_memory(m, QUANTS[q], runner, w).total_gib, 1)
            for col, (q, runner) in VRAM_COLUMNS.items()}


SEED_TOLERANCE = 0.25  # the seed's hand numbers are rough: flag only what is off by more than a quarter


def seed_check(m: ModelSpec | ApiSpec) -> list[dict[str, Any]]:
    """Where the seed document's own numbers for this model disagree with the estimator."""
    seed = m.seed or {}
    out: list[dict[str, Any]] = []
    if m.kind != "local":
        return out
    v = model_vram(m)
    for key, col in (("vram_fp16_gb", "fp16"), ("vram_q4_gb", "q4")):
        claim = seed.get(key)
        if not isinstance(claim, (int, float)):
            continue
        claim_gib = gb_to_gib(claim)
        est = v[col]
        off = (est - claim_gib) / claim_gib
        if abs(off) > SEED_TOLERANCE:
            out.append({"claim": key, "seed_gb": claim, "estimate_gib": est,
                        "verdict": f"the seed says {claim} GB at {col}; the estimate is {est:.1f} GiB "
                                   f"({'more' if off > 0 else 'less'} by {abs(off):.0%}) with 4096 text tokens "
                                   "and one 1024x1024 image"})
    return out


def models_for_task(cat: Catalog, task: TaskSpec) -> list[ModelSpec | ApiSpec]:
    """Models and APIs that can do `task`, best task quality first (capability filter applied)."""
    from vlmselect.quality import for_task
    from vlmselect.recommend import capable

    local = [m for m in cat.models.values() if capable(m, task) is None]
    apis = [a for a in cat.apis.values() if capable(a, task) is None]
    quals = for_task(cat, task)
    key: Callable[[ModelSpec | ApiSpec], float] = lambda x: quals[x.id].low  # noqa: E731  the quality bound `recommend --priority quality` ranks by
    today = dt.date.today()
    order = {"active": 0, "deprecated": 1, "retired": 2}
    return (sorted(local, key=key, reverse=True)
            + sorted(apis, key=lambda a: (order[a.status(today)], -key(a))))


def r_(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def estimate_one(cat: Catalog, m: ModelSpec, quant_name: str | None, runner: str | None, w: Workload,
                 hw: HardwareProfile, task: TaskSpec | None = None) -> dict[str, Any]:
    """`estimate`: the breakdown for one model; placement and speed when the machine is known.

    Without --quant it shows what `recommend` would pick for this model (same placement, same
    quant preference); with --quant, that quant's best placement or why it cannot run.
    """
    from vlmselect.errors import UsageError
    from vlmselect.filters import memory_reason
    from vlmselect.fits import fits_up_to
    from vlmselect.placement import (_margin, artifact_missing, need_gib, quant_reasons, runners_for, speed_known,
                                     usable_ram, usable_vram)
    from vlmselect.quant import RUNNER_FORMATS
    from vlmselect.recommend import Request, alternatives, best_for_model
    from vlmselect.runtimes import describe, resolve
    from vlmselect.speed import estimate_speed

    q = quant(quant_name) if quant_name else None
    notes: list[str] = []
    pick = None
    if q is None:
        pick = best_for_model(cat, hw, Request(task=task, workload=w, runner=runner), m.id)
        if pick is None:
            q, runner = QUANTS["q4_k_m"], runner or "llama.cpp"
            notes.append("no runner and quant of this model runs on this hardware; showing q4_k_m")
        else:
            q, runner = pick.quant, pick.runner
    else:
        if runner is None:  # a GGUF quant runs where the model has GGUF runners, else transformers' formats
            have = runners_for(m)
            runner = next((r for r in ("ollama", "llama.cpp") if q.fmt == "gguf" and r in have), None) or \
                ("llama.cpp" if q.fmt == "gguf" else "transformers")
        if q.fmt not in RUNNER_FORMATS[runner]:
            raise UsageError(f"{runner} cannot load {q.id}: {artifact_missing(m, q, runner)}",
                             f"{runner} takes: {', '.join(x for x in QUANTS if QUANTS[x].fmt in RUNNER_FORMATS[runner])}")
        fmt, bits, rnr = q.fmt, q.bits, runner
        same: Callable[[LocalPick], bool] = lambda p: p.runner == rnr and p.quant.fmt == fmt and p.quant.bits == bits  # noqa: E731 (bf16 ~ fp16)
        options = [p for p in alternatives(cat, hw, Request(task=task, workload=w, runner=runner), m.id) if same(p)]
        pick = options[0] if options else None
    rt = resolve(runner, w.runtime, m.family)  # a bad --kv-cache for this runner exits 2 here
    mem = pick.mem if pick else estimate_memory(m, q, runner, w)
    gpus = hw.usable_gpus
    d: dict[str, Any] = {
        "id": m.id, "quant": q.id, "runner": runner, "context": mem.context_tokens, "images": w.images,
        "image_tokens": mem.image_tokens, "total_gib": round(mem.total_gib, 2), "parts_gib": mem.parts(),
        "basis": mem.basis, "weights_published": mem.weights_published,
        "mode": pick.mode if pick else None, "fits": pick.fits if pick else False,
        "gpus_used": pick.gpus_used if pick else 0, "kv_image_gib": round(mem.kv_image_gib, 3),
        "usable_gib": r_(pick.usable_gib if pick else (max(usable_vram(g) for g in gpus) if gpus else None)),
        "gpu_share": round(pick.placement.gpu_share, 3) if pick else None,
        "hardware": hw.to_json(), "notes": notes, "task": task.id if task else None,
        "runtime": {"runner": rt.runner, "version": rt.version, "version_source": rt.version_source,
                    "flash_attention": rt.flash_attention, "kv_cache": rt.kv_cache, "basis": describe(rt)},
    }
    # No placement: the catalog has no such artifact, this hardware cannot run it, or it is too big.
    why_not = None
    if pick is None:
        why_not = next((r for qq, r in quant_reasons(m, runner, hw) if qq.fmt == q.fmt and qq.bits == q.bits and r), None)
        if why_not:
            notes.append(f"cannot run here: {why_not}; the numbers are what it would take")
    d["unplaced"] = None if pick is not None else (
        "no artifact" if why_not and why_not.startswith("no ") else "unsupported" if why_not else "too big")
    if runner == "ollama":
        _ollama_default_window(d, notes, m, q, w, rt, mem, hw)
    if mem.context_tokens > m.context_max:
        notes.append(f"needs {mem.context_tokens} tokens of context; {m.id} takes at most {m.context_max}")
    room = max([usable_vram(g) for g in gpus] or [usable_ram(hw)])
    g0 = max(gpus, key=usable_vram) if gpus else None
    if g0 is not None and runner == "vllm" and g0.vram_total_gib:
        from vlmselect.memory import vllm_kv_pool

        pool_gib, pool_tokens = vllm_kv_pool(mem, g0.vram_total_gib)
        d["vllm_kv_pool"] = {"gib": round(pool_gib, 2), "tokens": pool_tokens, "gpu_memory_utilization": 0.9}
        if pool_tokens < mem.context_tokens:
            notes.append(f"vLLM's KV pool on this GPU holds {pool_tokens:,} tokens, fewer than the"
                         f" {mem.context_tokens:,}-token window: lower --max-model-len or raise"
                         " --gpu-memory-utilization")
    if gpus:
        # What fits the roomiest GPU under the one fit rule.
        up_to = fits_up_to(m, q, runner, w, room / (1 + _margin(runner)))
        d["fits_up_to"] = up_to.to_json()
        if need_gib(mem) > room:
            notes.append(f"does not fit one GPU: needs {mem.total_gib:.1f} GiB; {up_to.describe()}")
    if pick is None and not why_not and need_gib(mem) > room:
        notes.append("does not fit: " + memory_reason(mem, hw, m, q, w))
    if pick is not None:
        from vlmselect.render import placement_json

        d["placement"] = placement_json(pick.placement)
        known = speed_known(pick.speed)
        d["tokens_per_s"] = round(pick.speed.tokens_per_s, 1) if known else None
        d["seconds_per_image"] = round(pick.speed.seconds_per_image, 2) if known else None
        d["speed_basis"] = pick.speed.basis
        d["headroom_gib"] = round(pick.headroom_gib, 2) if pick.headroom_gib is not None else None
        d["command"] = pick.command
        d["next_steps"] = pick.steps.lines if pick.steps else [pick.command]
        d["command_notes"] = list(pick.steps.notes) if pick.steps else []
    else:
        g = max(gpus, key=lambda x: x.bandwidth_gbps or 0, default=None)
        if g is not None and g.bandwidth_gbps:
            sp = estimate_speed(m, q, mem, w, bandwidth_gbps=g.bandwidth_gbps, tflops=g.fp16_tflops)
            d["tokens_per_s"] = round(sp.tokens_per_s, 1)
            d["seconds_per_image"] = round(sp.seconds_per_image, 2)
            d["speed_basis"] = sp.basis + " (if it fitted)"
    return d


def _ollama_default_window(d: dict[str, Any], notes: list[str], m: ModelSpec, q: Quant, w: Workload, rt: Runtime,
                           mem: MemoryEstimate, hw: HardwareProfile) -> None:
    """What `ollama run` would allocate with no window set: Ollama's default depends on its version
    and, from 0.15.5, on the machine's total VRAM (runtimes default_context). The printed command sets
    OLLAMA_CONTEXT_LENGTH to the estimate's window, so this is what that setting avoids."""
    from vlmselect.runtimes import ollama_default_context

    vram = sum(g.vram_total_gib or 0 for g in hw.usable_gpus) if hw.usable_gpus else 0.0
    default = ollama_default_context(rt.version, vram, m.family, m.context_max)
    window = mem.context_tokens // max(rt.parallel, 1)
    d["ollama_default_context"] = {"tokens": default, "total_vram_gib": round(vram, 1), "version": rt.version}
    if default > window:
        from vlmselect.memory import estimate_memory

        # The same workload in Ollama's default window: the text share grows by the difference.
        big = estimate_memory(m, q, "ollama", w._replace(context=w.context + default - window))
        d["ollama_default_context"]["total_gib"] = round(big.total_gib, 2)
        notes.append(f"Ollama {rt.version} defaults to a {default:,}-token window on {vram:.0f} GiB of VRAM, more"
                     f" than the {window:,} this estimate assumes ({big.total_gib:.1f} GiB instead of"
                     f" {mem.total_gib:.1f}): start it with OLLAMA_CONTEXT_LENGTH={window} as the printed command does")
    elif default < window:
        notes.append(f"Ollama {rt.version} defaults to a {default:,}-token window here, fewer than the {window:,}"
                     f" this workload needs (it would cut the prompt): set OLLAMA_CONTEXT_LENGTH={window}")
