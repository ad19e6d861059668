"""The estimator against llama.cpp's and vLLM's own memory reports, on tiny models of several shapes.

Prints one row per (shape, n_ctx, n_ubatch, flash attention): what llama-server reports for its KV
cache, weights and compute buffer, what vlmselect's estimator says, and their ratio; then vLLM's KV
pool in tokens against the estimator's bytes per token. Writes it all, with the engine versions, to
benchmarks/engine_memory.json (or --out).

    scripts/setup_engines.sh && .venv/bin/python benchmarks/engine_memory.py [--no-vllm]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import engines  # noqa: E402
from engine_reports import gguf_tensor_bytes, llama_report, spec_for  # noqa: E402
from test_engine_memory import CONFIGS, SHAPES  # noqa: E402
from tiny_gguf import write_mmproj, write_text_model  # noqa: E402

from vlmselect.memory import Workload, estimate_memory, kv_cache_bytes  # noqa: E402
from vlmselect.units import MIB  # noqa: E402
from vlmselect.quant import QUANTS  # noqa: E402


def _llama_rows(binary: str, d: Path) -> list[dict]:
    mmproj = write_mmproj(d / "mmproj.gguf", text_hidden=64)
    rows = []
    for name, shape in SHAPES.items():
        model = write_text_model(d / f"{name}.gguf", shape)
        data, _ = gguf_tensor_bytes(model)
        spec = spec_for(shape)
        for ctx, ub, fa in CONFIGS:
            rep = llama_report(binary, model, mmproj, ctx=ctx, ubatch=ub, flash_attn=fa)
            est = estimate_memory(spec, QUANTS["fp32"], "llama.cpp", Workload(context=ctx, images=0, max_new_tokens=0))
            rows.append({
                "shape": name, "n_ctx": ctx, "n_ubatch": ub, "flash_attn": fa,
                "kv_mib": rep["kv_mib"], "kv_est_mib": round(kv_cache_bytes(spec, ctx) / MIB, 4),
                "kv_caches": rep["kv_caches"],
                "model_mib": rep["model_mib"], "weights_file_mib": round(data / MIB, 4),
                "weights_est_mib": round(est.weights_gib * 1024, 4),
                "compute_mib": rep["compute_mib"], "compute_est_mib": round(est.compute_gib * 1024, 3),
                "compute_ratio": round(rep["compute_mib"] / (est.compute_gib * 1024), 3),
                "mmproj_model_mib": rep["mmproj_model_mib"], "mmproj_compute_mib": rep["mmproj_compute_mib"],
            })
            r = rows[-1]
            print(f"llama.cpp {name:4} ctx {ctx:5} ub {ub:4} fa {fa:3}: KV {r['kv_mib']:7.2f} (est {r['kv_est_mib']:7.3f})"
                  f"  weights {r['model_mib']:5.2f} (est {r['weights_est_mib']:6.3f})"
                  f"  compute {r['compute_mib']:6.2f} (est {r['compute_est_mib']:6.2f}, ratio {r['compute_ratio']})")
    return rows


def _vllm_rows(binary: str, d: Path) -> list[dict]:
    from tiny_gguf import TextShape
    from tiny_vllm import build_tiny_llama

    from vlmselect.runners import openai_compat, vllm
    from vlmselect.runners.server import free_port

    rows = []
    for heads, kv in ((4, 4), (8, 2)):
        path = build_tiny_llama(d / f"llama-{heads}-{kv}", heads=heads, kv_heads=kv, hidden=128)
        port = free_port()
        srv = vllm.start(binary, path, ctx=256, port=port, kv_space_gib=1,
                         extra=("--dtype", "bfloat16", "--limit-mm-per-prompt", "{}", "--enforce-eager"))
        with srv:
            openai_compat.wait_ready(f"http://127.0.0.1:{port}", vllm.READY_TIMEOUT_S, alive=srv.alive, what="vllm")
            log = srv.log()
        mem = vllm.parse_memory(log)
        per_token = kv_cache_bytes(spec_for(TextShape(layers=2, hidden=128, heads=heads, kv_heads=kv,
                                                      head_dim=128 // heads)), 1)
        rows.append({"heads": heads, "kv_heads": kv, "kv_space_gib": 1, "kv_tokens": mem["kv_tokens"],
                     "kv_tokens_est": int(2**30 // per_token), "version": mem["version"]})
        print(f"vLLM heads {heads} kv {kv}: KV pool {mem['kv_tokens']} tokens (est {rows[-1]['kv_tokens_est']})")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "engine_memory.json")
    ap.add_argument("--no-vllm", action="store_true")
    args = ap.parse_args()
    binary = engines._executable("VLMSELECT_LLAMA_SERVER")
    if not binary:
        sys.exit("llama-server missing: run scripts/setup_engines.sh")
    with tempfile.TemporaryDirectory() as tmp:
        out = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "machine": platform.platform(), "engines": engines.versions(),
               "llama_cpp": _llama_rows(binary, Path(tmp))}
        v = engines._executable("VLMSELECT_VLLM")
        if v and not args.no_vllm:
            out["vllm"] = _vllm_rows(v, Path(tmp))
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
