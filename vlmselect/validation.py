"""Estimates against published measurements (benchmarks/measured.yaml), component by component.

Used by benchmarks/validate_estimates.py (prints every row and the error summary) and by
tests/test_validation.py (holds the stated error bounds). Rows marked `holdout` never chose a
constant; their errors are reported apart from the fitted rows'.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from vlmselect.catalog import Arch, Catalog, ModelSpec
from vlmselect.memory import Workload, estimate_memory
from vlmselect.quant import QUANTS
from vlmselect.runtimes import KV_CACHE_TYPES, RuntimeOptions
from vlmselect.speed import Placement, estimate_speed
from vlmselect.units import GIB, MIB

if TYPE_CHECKING:
    from vlmselect.memory import MemoryEstimate
    from vlmselect.quant import Quant

MEASURED = Path(__file__).resolve().parent.parent / "benchmarks" / "measured.yaml"
MAX_BYTES = 2_000_000  # the file is read with yaml.safe_load; refuse anything absurdly large
MEMORY_KEYS = {"allocated_gib", "ollama_ps_gb", "kv_gib", "kv_mib", "compute_mib", "weights_text_gib",
               "weights_gib_per_gpu"}
SPEED_KEYS = {"tokens_per_s_e2e", "tokens_per_s_decode"}


class Comparison(NamedTuple):
    row: str
    component: str
    kind: str  # memory | speed
    estimate: float
    measured: float
    holdout: bool
    runner: str

    @property
    def error(self) -> float:
        """Signed relative error of the estimate."""
        return (self.estimate - self.measured) / self.measured


def load_rows(path: Path = MEASURED) -> list[dict[str, Any]]:
    import yaml

    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise ValueError(f"{path} is larger than {MAX_BYTES} bytes")
    rows = yaml.safe_load(data)
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a list of rows")
    return rows


def model_for(row: dict[str, Any], cat: Catalog) -> ModelSpec:
    """The catalog model, or one built from a catalog entry and a config.json (`spec`)."""
    spec = row.get("spec")
    if not spec:
        return cat.models[row["model"]]
    base = cat.models[spec["base"]]
    arch = base.arch._replace(**spec.get("arch", {})) if spec.get("arch") else base.arch
    total = spec.get("params_total_b", base.params_total_b)
    vision = spec.get("params_vision_b", base.params_vision_b)
    return base._replace(id=row["model"] if spec["base"] != row["model"] else base.id, arch=Arch(*arch), params_total_b=total, params_vision_b=vision,
                         params_text_b=total - (vision or 0), runners=spec.get("runners", base.runners))


def workload_for(row: dict[str, Any]) -> Workload:
    s = row.get("settings") or {}
    fa = s.get("flash_attention")
    kv = str(s.get("kv_cache", "f16"))
    opts = RuntimeOptions(version=str(row.get("runner_version")) if row.get("runner_version") else None,
                          flash_attention=fa if fa in ("on", "off") else None,
                          kv_cache=kv if kv in KV_CACHE_TYPES else "f16",
                          parallel=int(s["parallel"]) if s.get("parallel") else None,
                          total_vram_gib=float(s["total_vram_gib"]) if s.get("total_vram_gib") else None)
    return Workload(context=int(s.get("context", 0)), images=int(s.get("images", 0)),
                    max_new_tokens=int(s.get("max_new_tokens", 0)), runtime=opts)


def compare(row: dict[str, Any], cat: Catalog) -> list[Comparison]:
    m = model_for(row, cat)
    q = QUANTS[row["quant"]]
    w = workload_for(row)
    mem = estimate_memory(m, q, row["runner"], w)
    gpus = max(int(row.get("gpus", 1)), 1)
    est = {
        "allocated_gib": mem.allocated_gib,
        "ollama_ps_gb": mem.total_gib * GIB / 1e9,
        "kv_gib": mem.kv_cache_gib,
        "kv_mib": mem.kv_cache_gib * GIB / MIB,
        "compute_mib": mem.compute_gib * GIB / MIB,
        "weights_text_gib": mem.weights_text_gib,
        "weights_gib_per_gpu": mem.weights_gib / gpus,
    }
    out = []
    for key, measured in (row.get("measured") or {}).items():
        if key in MEMORY_KEYS:
            out.append(Comparison(row["id"], key, "memory", est[key], float(measured), bool(row.get("holdout")),
                                  row["runner"]))
        elif key in SPEED_KEYS:
            est_speed = _e2e_speed(row, m, q, mem, w, cat, gpus, decode_only=key == "tokens_per_s_decode")
            out.append(Comparison(row["id"], key, "speed", est_speed, float(measured), bool(row.get("holdout")),
                                  row["runner"]))
    return out


def _e2e_speed(row: dict[str, Any], m: ModelSpec, q: Quant, mem: MemoryEstimate, w: Workload, cat: Catalog, gpus: int,
               decode_only: bool = False) -> float:
    """New tokens / (prefill + decode) for a prompt of `context` text tokens, as the Qwen script times it;
    `decode_only`: the decode rate alone (Ollama's eval rate, llama-bench tg)."""
    g = cat.gpu(row["gpu"])
    placement = Placement("multi-gpu" if gpus > 1 else "gpu", gpus=gpus, tensor_parallel=False)
    sp = estimate_speed(m, q, mem, w, bandwidth_gbps=g.bandwidth_gbps, tflops=g.fp16_tflops, placement=placement,
                        prompt_tokens=w.context)
    if decode_only:
        return sp.tokens_per_s
    return w.max_new_tokens / (sp.prefill_s + sp.decode_s)


def compare_all(cat: Catalog, rows: list[dict[str, Any]] | None = None) -> list[Comparison]:
    return [c for row in (rows if rows is not None else load_rows()) for c in compare(row, cat)]


class Summary(NamedTuple):
    n: int
    median: float  # of absolute relative errors
    worst: float


def summarize(comps: list[Comparison], kind: str, holdout: bool) -> Summary | None:
    errs = [abs(c.error) for c in comps if c.kind == kind and c.holdout == holdout]
    if not errs:
        return None
    return Summary(len(errs), statistics.median(errs), max(errs))
