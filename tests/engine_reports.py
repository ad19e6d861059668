"""Start an engine on a tiny model, read its own memory report, stop it; and the estimator's
numbers for the same architecture. Used by tests/test_engine_memory.py and
benchmarks/engine_memory.py (which writes the comparison, with the runtime versions, to a file)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from tiny_gguf import TextShape, VisionShape

from vlmselect.catalog import Arch, ModelSpec
from vlmselect.runners import llamacpp, openai_compat
from vlmselect.runners.server import free_port

GGUF_ALIGN = 32  # general.alignment default: each tensor's data starts on a 32-byte boundary (gguf docs)
# "llama_kv_cache: size = 1.00 MiB (4096 cells, 2 layers, 4/1 seqs), K (f16): ..." (src/llama-kv-cache.cpp)
_KV_LINE = re.compile(r"llama_kv_cache: size =\s*([\d.]+) MiB \(\s*(\d+) cells,\s*(\d+) layers")


def llama_report(binary: str, model: Path, mmproj: Path | None, *, ctx: int, ubatch: int, flash_attn: str,
                 timeout_s: float = 120.0) -> dict:
    """llama-server's own memory report for one configuration (it is stopped before returning)."""
    port = free_port()
    extra = ("-ub", str(ubatch), "-b", str(max(ubatch, 2048)), "-fa", flash_attn)
    srv = llamacpp.start(binary, model, mmproj, ctx=ctx, ngl=0, port=port, extra=extra)
    with srv:
        openai_compat.wait_ready(f"http://127.0.0.1:{port}", timeout_s, alive=srv.alive, what="llama-server")
        log = srv.log()
    rep = llamacpp.parse_memory(log)
    rep["kv_caches"] = [{"mib": float(m), "cells": int(c), "layers": int(n)} for m, c, n in _KV_LINE.findall(log)]
    rep.update({"ctx_asked": ctx, "ubatch": ubatch, "flash_attn_asked": flash_attn})
    return rep


def spec_for(shape: TextShape, vision: VisionShape | None = None) -> ModelSpec:
    """The ModelSpec the estimator would get from a catalog entry for this architecture."""
    sliding = shape.layers // 2 if shape.arch == "gemma2" else 0  # gemma2: every other layer, from layer 0
    text_params = shape.param_count()
    vision_params = vision_param_count(vision, shape.hidden) if vision else 0
    return ModelSpec(
        id=f"tiny-{shape.arch}-{shape.heads}h{shape.kv_heads}kv", name="tiny", family=shape.arch,
        released=dt.date(2025, 1, 1), license="apache-2.0", hf_repo="test-org/tiny", trust_remote_code=False,
        params_total_b=(text_params + vision_params) / 1e9, params_vision_b=vision_params / 1e9 if vision else None,
        arch=Arch(layers=shape.layers, kv_heads=shape.kv_heads, head_dim=shape.head_dim, hidden=shape.hidden,
                  heads=shape.heads, vocab=shape.vocab, sliding_window=shape.sliding_window if sliding else None,
                  sliding_layers=sliding),
        context_max=shape.ctx_train, image_tokens={"rule": "fixed", "tokens": vision.patches if vision else 0},
        capabilities={}, sources=(), runners={})


def vision_param_count(v: VisionShape, text_hidden: int) -> int:
    h = v.hidden
    layer = 4 * (h * h + h) + 2 * 2 * h + (v.ffn * h + v.ffn) + (h * v.ffn + h)
    embed = h * 3 * v.patch_size ** 2 + h + (v.patches + 1) * h + 2 * h
    proj = (v.proj_hidden * h + v.proj_hidden) + (text_hidden * v.proj_hidden + text_hidden)
    return embed + v.layers * layer + proj


def gguf_tensor_bytes(path: Path) -> tuple[int, int]:
    """(bytes of tensor data, tensor count), read from the file with the gguf package."""
    import gguf

    r = gguf.GGUFReader(str(path))
    return sum(int(t.n_bytes) for t in r.tensors), len(r.tensors)
