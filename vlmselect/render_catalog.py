"""Tables and JSON for the catalog's views (`models`, `show`, `catalog stats`) and `snippet`.

Split from render.py (which keeps `recommend` and `estimate`); no decisions are made here.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Any

from vlmselect.catalog import ApiSpec, ModelSpec
from vlmselect.render import console

if TYPE_CHECKING:
    from vlmselect.catalog_stats import CatalogStats
    from vlmselect.snippet import Snippet

# One row of `models`: the entry, its VRAM columns (local models) and its cost per image (APIs).
ModelRow = tuple["ModelSpec | ApiSpec", "dict[str, float] | None", "float | None"]


def model_row_json(m: ModelSpec | ApiSpec, vram: dict[str, float] | None) -> dict[str, Any]:
    d: dict[str, Any] = {"id": m.id, "name": m.name, "kind": m.kind, "released": str(m.released),
         "capabilities": dict(m.capabilities), "benchmarks": dict(m.benchmarks),
         "benchmark_sources": dict(m.benchmark_sources), "sources": list(m.sources)}
    if isinstance(m, ModelSpec):
        d.update({"family": m.family, "params_b": m.params_total_b, "active_params_b": m.params_active_b,
                  "license": m.license, "commercial": m.commercial, "hf_repo": m.hf_repo,
                  "trust_remote_code": m.trust_remote_code, "vram_gib": vram,
                  "runners": sorted(m.runners)})
        if m.seed:
            from vlmselect.catalog_views import seed_check

            d["seed"] = m.seed
            d["seed_check"] = seed_check(m)
        if m.unverified:
            d["unverified"] = list(m.unverified)
    elif isinstance(m, ApiSpec):
        d.update({"family": m.provider, "provider": m.provider, "api_model": m.api_model,
                  "price_per_mtok": {"input": m.input_per_mtok, "output": m.output_per_mtok},
                  "price_as_of": str(m.price_as_of) if m.price_as_of else None, "price_source": m.price_source,
                  "status": {"now": m.status(dt.date.today()), "deprecated": m.deprecated and str(m.deprecated),
                             "retired": m.retired and str(m.retired), "successor": m.successor,
                             "source": (m.facts.get("status") or {}).get("source"),
                             "read": (m.facts.get("status") or {}).get("as_of")}})
        if m.seed:
            d["seed"] = m.seed
    return d


def show_json(m: ModelSpec | ApiSpec, vram: dict[str, float] | None) -> dict[str, Any]:
    """Every fact of one model or API: the listing's row, then each field of its catalog entry as written
    (architecture, parameter split, image-token rule, artifacts, benchmark provenance, unknowns, notes),
    and the file it came from."""
    d = model_row_json(m, vram)
    if isinstance(m, ModelSpec):
        d["params"] = {"total_b": m.params_total_b, "text_b": m.params_text_b, "vision_b": m.params_vision_b,
                       "projector_b": (m.facts.get("params") or {}).get("projector_b"), "active_b": m.params_active_b}
        d["arch"] = {**m.arch._asdict(), **(m.facts.get("arch") or {})}
        d["artifacts"] = m.facts.get("runners") or {}
    d["benchmark_details"] = m.facts.get("benchmarks") or {}
    for k, v in m.facts.items():
        if k not in d and k not in ("runners", "benchmarks"):
            d[k] = v
    d["catalog_file"] = m.origin
    return d


def print_models(rows: list[ModelRow], task_id: str | None) -> None:
    from rich.table import Table

    c = console()
    t = Table(title="Models" + (f" for {task_id}" if task_id else ""))
    for col in ("id", "name", "released", "params", "fp16 GiB", "q4 GiB", "OCR", "docs", "charts", "ground", "video", "$/image"):
        t.add_column(col)
    for m, vram, cost in rows:
        caps = [str(m.cap(k)) for k in ("ocr", "documents", "charts", "grounding", "video")]
        if isinstance(m, ModelSpec):
            assert vram is not None, "a local model's row carries its VRAM columns"
            params = f"{m.params_total_b:g}B" + (f" ({m.params_active_b:g}B act.)" if m.is_moe else "")
            t.add_row(m.id, m.name, str(m.released), params, f"{vram['fp16']:.1f}", f"{vram['q4']:.1f}", *caps, "")
        else:
            status = m.status(dt.date.today())
            t.add_row(m.id, m.name, str(m.released), "API" + ("" if status == "active" else f" ({status})"), "", "",
                      *caps, f"{cost:.4f}")
    c.print(t)


def print_show(m: ModelSpec | ApiSpec, vram: dict[str, float] | None) -> None:
    c = console()
    d = model_row_json(m, vram)
    c.print(f"[bold]{m.name}[/bold] ({m.id}) — {m.kind}, released {m.released}")
    for k, v in d.items():
        if k in ("id", "name", "kind", "released", "sources", "benchmark_sources", "benchmarks", "seed_check"):
            continue
        c.print(f"  {k}: {v}")
    if m.benchmarks:
        c.print("  benchmarks:")
        for b, s in m.benchmarks.items():
            c.print(f"    {b}: {s:g}  ({m.benchmark_sources.get(b, '')})")
    for chk in d.get("seed_check") or []:
        c.print(f"  [yellow]seed disagrees:[/yellow] {chk['verdict']}")
    if m.notes:
        c.print(f"  notes: {m.notes}")
    c.print("  sources:")
    for src in m.sources:
        c.print(f"    {src}")


def print_catalog_stats(st: CatalogStats) -> None:
    c = console()
    c.print(f"[bold]Catalog as of {st.as_of or 'unknown'}[/bold] (newest dated fact: {st.as_of_basis})")
    c.print("Entries: " + ", ".join(f"{n} {k}" for k, n in st.counts.items()))
    c.print(f"With unverified fields: {st.with_unverified} of {st.entries}; "
            f"with unknown estimator inputs: {st.with_unknown} of {st.entries}")
    c.print("Newest release per family:")
    for fam, v in st.newest_by_family.items():
        c.print(f"  {fam:24s} {v['released']}  {v['id']} ({v['kind']})")


def print_snippet(sn: Snippet) -> None:
    """The code alone on stdout (so `> run.py` keeps it runnable); what to know about it on stderr."""
    sys.stdout.write(sn.code)
    err = sys.stderr.write
    err(f"# {sn.model_id} via {sn.target} ({sn.lang}); prompt: {sn.prompt}\n")
    if sn.env:
        err(f"# reads from the environment: {', '.join(sn.env)}\n")
    for n in sn.notes:
        err(f"# {n}\n")
    for line in sn.advice.lines:
        err(f"# image: {line}\n")
