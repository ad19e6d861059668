"""`plan` output: one JSON shape, and a rich rendering of it (no logic beyond formatting)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vlmselect.render import console, r2

if TYPE_CHECKING:
    from pathlib import Path

    from vlmselect.catalog import TaskSpec
    from vlmselect.hardware import HardwareProfile
    from vlmselect.memory import Workload
    from vlmselect.plan import ApiLine, Plan, Volume


def _duration(hours: float | None) -> str:
    if hours is None:
        return ""
    s = hours * 3600
    if s < 120:
        return f"{s:.0f} s"
    if hours < 2:
        return f"{s / 60:.0f} min"
    if hours < 72:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def plan_json(task: TaskSpec | None, model_id: str | None, hw: HardwareProfile, w: Workload, vol: Volume,
              plans: list[Plan], apis: list[ApiLine], skipped: list[str], nodes: int,
              written: Path | None) -> dict[str, Any]:
    from vlmselect.deploy import commands

    gpus_per_node = len(hw.usable_gpus)
    out_plans: list[dict[str, Any]] = []
    for p in plans:
        r = p.replica
        out_plans.append({
            "id": r.model.id, "name": r.model.name, "quant": r.quant.id, "runner": "vllm",
            "gpus_per_replica": r.tp, "kv_pool_gib": r2(r.kv_pool_gib), "kv_per_request_mib": r2(r.kv_per_request_gib * 1024, 1),
            "tokens_per_request": r.mem.context_tokens, "image_tokens": r.mem.image_tokens,
            "max_concurrency_kv": r.max_concurrency_kv, "max_num_seqs": r.max_num_seqs, "concurrency": r.concurrency,
            "prefill_s": r2(r.prefill_s, 3), "decode_step_ms": r2(r.step_s * 1000, 2),
            "images_per_hour_per_replica": round(r.images_per_hour), "latency_s": r2(r.latency_s),
            "replicas": p.replicas, "gpus": p.gpus, "nodes": p.nodes, "replicas_available": p.replicas_available,
            "hours": r2(p.hours, 3), "hours_available": r2(p.hours_available, 3), "meets": p.meets,
            "local_usd_per_image": r2(p.local_usd_per_image, 6),
            "amortised_usd_per_image": r2(p.amortised_usd_per_image, 6), "energy_kwh_per_image": r2(p.energy_kwh_per_image, 7),
            "cost_basis": p.cost_basis, "quality": r2(p.quality, 3), "why": p.why,
            "curve": [{"concurrency": c.concurrency, "images_per_hour": round(c.images_per_hour),
                       "latency_s": r2(c.latency_s)} for c in r.curve],
            "basis": r.basis, "deploy": commands(p, w, max(gpus_per_node, 1)),
            "source": r.source,
        })
    return {
        "task": task.id if task else None, "model": model_id,
        "volume": {"images": vol.images, "within_s": vol.within_s, "rate_per_s": vol.rate_per_s},
        "workload": {"context": w.context, "images_per_request": w.images, "resolution": f"{w.width}x{w.height}",
                     "max_new_tokens": w.max_new_tokens},
        "hardware": {"gpu": hw.usable_gpus[0].name if hw.usable_gpus else None, "gpus_per_node": gpus_per_node,
                     "nodes": nodes, "source": hw.source},
        "plans": out_plans,
        "api": [{"id": a.api.id, "name": a.api.name, "provider": a.api.provider,
                 "usd_per_image": r2(a.usd_per_image, 6), "batch_usd_per_image": r2(a.batch_usd_per_image, 6),
                 "batch_source": a.batch_source,
                 "job_usd": r2(a.usd_per_image * vol.images, 2) if vol.images else None,
                 "job_batch_usd": r2(a.batch_usd_per_image * vol.images, 2) if vol.images and a.batch_usd_per_image is not None else None,
                 "breakeven_images": round(a.breakeven_images) if a.breakeven_images else None} for a in apis],
        "skipped": skipped,
        "pipeline": str(written) if written else None,
    }


def print_plan(d: dict[str, Any], explain: bool) -> None:
    from rich.table import Table

    c = console()
    v = d["volume"]
    hw = d["hardware"]
    ask = (f"{v['images']:,} images within {_duration(v['within_s'] / 3600)}" if v["images"]
           else f"{v['rate_per_s']:g} images/s" if v["rate_per_s"] else "throughput")
    c.print(f"[bold]Plan[/bold] {d['task'] or d['model']}: {ask} on {d['hardware']['nodes']} x "
            f"{hw['gpus_per_node']} x {hw['gpu']} ({hw['source']})")
    t = Table(show_lines=False)
    for col in ("model", "quant", "GPUs/replica", "in flight", "images/h per replica", "latency", "replicas",
                "job time", "$ / 1k images local"):
        t.add_column(col)
    for p in d["plans"]:
        job = _duration(p["hours"]) or "-"
        if v["images"] and p["hours_available"] is not None and p["replicas_available"] != p["replicas"]:
            job += f" ({_duration(p['hours_available'])} on {p['replicas_available']})"
        usd = f"${p['local_usd_per_image'] * 1000:.4f}" if p["local_usd_per_image"] is not None else "unknown"
        t.add_row(p["name"], p["quant"], str(p["gpus_per_replica"]), str(p["concurrency"]),
                  f"{p['images_per_hour_per_replica']:,}", f"{p['latency_s']:.1f} s",
                  f"{p['replicas']} ({p['gpus']} GPUs, {p['nodes']} node{'s' if p['nodes'] > 1 else ''})", job, usd)
    c.print(t)
    for p in d["plans"][:1]:
        from vlmselect import viz

        viz.print_curve(c, p)
        if p["meets"] is False:
            c.print(f"[yellow]Not within the deadline on what there is[/yellow]: needs {p['gpus']} GPUs "
                    f"({p['nodes']} node(s)); you have {hw['gpus_per_node'] * hw['nodes']}.")
        c.print(f"[bold]Run[/bold] ({p['name']}):")
        for line in p["deploy"]["ray"] + p["deploy"]["serve"]:
            c.print(f"  {line}", markup=False, highlight=False)
        for n in p["deploy"]["notes"]:
            c.print(f"  note: {n}", markup=False)
        c.print(f"  cost: {p['cost_basis']}", markup=False)
    if d["pipeline"]:
        c.print(f"Batch script written: {d['pipeline']}  (python {d['pipeline']} --images DIR --out DIR)", markup=False)
    if d["api"]:
        t = Table(title="Hosted APIs")
        for col in ("API", "$ / 1k images", "batch $ / 1k", "job (batch)", "local cheaper beyond"):
            t.add_column(col)
        for a in d["api"][:5]:
            job = f"${a['job_batch_usd'] if a['job_batch_usd'] is not None else a['job_usd']:,.2f}" if a["job_usd"] is not None else "-"
            t.add_row(a["name"], f"${a['usd_per_image'] * 1000:.3f}",
                      f"${a['batch_usd_per_image'] * 1000:.3f}" if a["batch_usd_per_image"] is not None else "-",
                      job, f"{a['breakeven_images']:,} images" if a["breakeven_images"] else "-")
        c.print(t)
    if explain:
        for p in d["plans"]:
            c.print(f"[bold]{p['name']}[/bold] {p['quant']} on {p['gpus_per_replica']} GPU(s)")
            for k, b in p["basis"].items():
                c.print(f"  {k}: {b}", markup=False)
            curve = ", ".join(f"{x['concurrency']}: {x['images_per_hour']:,}/h" for x in p["curve"])
            c.print(f"  images/h by requests in flight: {curve}", markup=False)
        for s in d["skipped"]:
            c.print(f"  left out: {s}", markup=False)
