"""Validated entries (plain dicts, as read or as cached) -> the spec objects the rest of the code reads.

No pydantic here: a valid JSON cache goes straight from `json.loads` to these builders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from vlmselect.catalog.specs import ApiSpec, Arch, GpuSpec, ModelSpec, TaskSpec

_PROVENANCE = ("by", "mode", "split", "version", "harness", "date", "note")


def as_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            return None
    return None


def _date(v: Any) -> dt.date:
    d = as_date(v)
    if d is None:  # validated entries always carry one
        raise ValueError(f"not a date: {v!r}")
    return d


def _benchmarks(raw: dict[str, Any] | None) -> tuple[dict[str, float], dict[str, str], dict[str, dict[str, Any]]]:
    raw = raw or {}
    scores = {k: float(v["score"]) for k, v in raw.items()}
    sources = {k: str(v["source"]) for k, v in raw.items()}
    meta = {k: {f: (str(v[f]) if f == "date" else v[f]) for f in _PROVENANCE if v.get(f) is not None}
            for k, v in raw.items()}
    return scores, sources, {k: m for k, m in meta.items() if m}


def _quant_key(name: str) -> str:
    """A quant name as written in a catalog ("Q4_K_M", "f16") -> vlmselect's id ("q4_k_m", "fp16")."""
    from vlmselect.quant import find_quant

    key = str(name).lower()
    q = find_quant(key)
    return q.id if q else key  # a format vlmselect does not model (q5_0 ...): kept as written, never offered


def _runners(r: dict[str, Any] | None) -> dict[str, Any]:
    """Runner artifacts with quant names normalised once, at load."""
    r = dict(r or {})
    if r.get("ollama"):
        r["ollama"] = [dict(t, quant=_quant_key(t["quant"])) if t.get("quant") else dict(t) for t in r["ollama"]]
    g = r.get("gguf")
    if isinstance(g, dict) and g.get("files"):
        r["gguf"] = dict(g, files={_quant_key(k): v for k, v in g["files"].items()})
    return r


def _opt_float(v: Any) -> float | None:
    return float(v) if v is not None else None


def _size(v: Any) -> tuple[int, int] | None:
    return (int(v[0]), int(v[1])) if v else None


def model(e: dict[str, Any], origin: str) -> ModelSpec:
    a, p = e["arch"], e["params"]
    scores, srcs, meta = _benchmarks(e.get("benchmarks"))
    return ModelSpec(
        id=e["id"], name=e["name"], family=e["family"], released=_date(e["released"]),
        license=str(e["license"]), hf_repo=e["hf_repo"], trust_remote_code=e["trust_remote_code"],
        params_total_b=float(p["total_b"]), params_text_b=_opt_float(p.get("text_b")),
        params_vision_b=_opt_float(p.get("vision_b")), params_active_b=_opt_float(p.get("active_b")),
        arch=Arch(
            layers=a["layers"], kv_heads=a["kv_heads"], head_dim=a["head_dim"], hidden=a.get("hidden"),
            heads=a.get("heads"), vocab=a.get("vocab"), sliding_window=a.get("sliding_window"),
            sliding_layers=a.get("sliding_layers") or 0, cross_attention_layers=a.get("cross_attention_layers") or 0,
            encoder_decoder=bool(a.get("encoder_decoder")), tied_embeddings=a.get("tied_embeddings"),
        ),
        context_max=e["context_max"], image_tokens=dict(e["image_tokens"]), capabilities=dict(e["capabilities"]),
        sources=tuple(e["sources"]), commercial=e.get("commercial"), max_resolution=_size(e.get("max_resolution")),
        benchmarks=scores, benchmark_sources=srcs, runners=_runners(e.get("runners")), seed=e.get("seed"),
        aliases=tuple(e.get("aliases") or ()), unverified=tuple(e.get("unverified") or ()),
        notes=str(e.get("notes") or ""), origin=origin, params_projector_b=_opt_float(p.get("projector_b")),
        facts=e,  # JSON-plain already (loader.load_file), shared: nothing writes to it
        max_images=e.get("max_images"), unknown=dict(e.get("unknown") or {}), benchmark_meta=meta,
    )


def api(e: dict[str, Any], origin: str) -> ApiSpec:
    st = e.get("status") or {}
    scores, srcs, meta = _benchmarks(e.get("benchmarks"))
    return ApiSpec(
        id=e["id"], name=e["name"], provider=e["provider"], released=_date(e["released"]),
        input_per_mtok=float(e["price"]["input_per_mtok"]), output_per_mtok=float(e["price"]["output_per_mtok"]),
        price_source=e["price"]["source"], price_as_of=as_date(e["price"].get("as_of")),
        image_tokens=dict(e["image_tokens"]), capabilities=dict(e["capabilities"]), sources=tuple(e["sources"]),
        api_model=str(e.get("api_model") or e["id"]), max_resolution=_size(e.get("max_resolution")),
        context_max=e.get("context_max"), benchmarks=scores, benchmark_sources=srcs,
        deprecated=as_date(st.get("deprecated")), retired=as_date(st.get("retired")),
        successor=st.get("successor"), seed=e.get("seed"), aliases=tuple(e.get("aliases") or ()),
        unverified=tuple(e.get("unverified") or ()), notes=str(e.get("notes") or ""), origin=origin,
        facts=e,  # JSON-plain already (loader.load_file), shared: nothing writes to it
        max_images=e.get("max_images"), unknown=dict(e.get("unknown") or {}), benchmark_meta=meta,
    )


def gpu(e: dict[str, Any], origin: str) -> GpuSpec:
    cc = e.get("compute_capability")
    # GPU memory is sold in binary units: NVML reports a "24 GB" RTX 3090 as 24576 MiB = 24.0 GiB.
    return GpuSpec(
        id=e["id"], name=e["name"], vendor=e["vendor"], vram_gib=float(e["vram_gb"]),
        bandwidth_gbps=float(e["bandwidth_gbps"]), source=e["source"],
        compute_capability=str(cc) if cc is not None else None, bf16=e.get("bf16"),
        fp16_tflops=_opt_float(e.get("fp16_tflops")), unified_memory=bool(e.get("unified_memory")),
        aliases=tuple(str(a) for a in e.get("aliases") or ()), notes=str(e.get("notes") or ""),
        tdp_w=_opt_float(e.get("tdp_w")),
    )


def task(e: dict[str, Any], origin: str) -> TaskSpec:
    rank = e["rank"]
    return TaskSpec(
        id=e["id"], name=e["name"], needs=dict(e["needs"]), rank_capabilities=dict(rank.get("capabilities") or {}),
        rank_benchmarks=dict(rank.get("benchmarks") or {}), aliases=tuple(e.get("aliases") or ()),
        prompt=str(e.get("prompt") or ""), images=e.get("images"), video=bool(e.get("video")),
        description=str(e.get("description") or ""),
    )


BUILD: dict[str, Callable[[dict[str, Any], str], Any]] = {"models": model, "apis": api, "gpus": gpu, "tasks": task}
