"""`smoke` through a server: llama.cpp's `llama-server`, `vllm serve`, or any OpenAI-compatible
endpoint given with `--server URL`. We start the server when no URL is given (127.0.0.1, a free
port), wait until it is ready, send the test card through /v1/chat/completions, and always stop
what we started. The server's own memory report comes from its log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlmselect.catalog import ModelSpec
from vlmselect.errors import RuntimeFailure, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from vlmselect.runners.openai_compat import ChatResult


def gguf_paths(spec: ModelSpec | None, target: str, quant: str | None) -> tuple[Path, Path | None, str | None]:
    """(model GGUF, mmproj, quant) from a catalog entry's downloaded files, or a local .gguf file
    with an `mmproj*.gguf` beside it."""
    if spec is not None and (spec.runners.get("gguf") or {}).get("files") and not target.endswith(".gguf"):
        from vlmselect.runners.hf import cached_file

        g = spec.runners["gguf"]
        files = g["files"]
        q = quant or next(iter(files))
        if q not in files:
            raise UsageError(f"{spec.id} has no GGUF file at {q}", "quants: " + ", ".join(files))
        model = cached_file(g["repo"], files[q]["file"])
        mm_name = (g.get("mmproj") or {}).get("file")
        mmproj = cached_file(g["repo"], mm_name) if mm_name else None
        if model is None or (mm_name and mmproj is None):
            raise UsageError(f"{spec.id} ({q}) is not downloaded",
                             f"run `vlmselect pull {spec.id} --runner llama.cpp --quant {q}` first")
        return model, mmproj, q
    p = Path(target).expanduser()
    if not p.is_file() or p.suffix != ".gguf":
        raise UsageError(f"not a GGUF file or a catalog model with GGUF files: {target}",
                         "give a catalog id (after `vlmselect pull ID --runner llama.cpp`) or a path to a .gguf file")
    mmprojs = sorted(x for x in p.parent.glob("*.gguf") if "mmproj" in x.name.lower() and x != p)
    quant = quant
    if spec is not None:  # a pulled file of a catalog model: its quant is the catalog's key for it
        quant = next((k for k, f in (spec.runners.get("gguf") or {}).get("files", {}).items() if f.get("file") == p.name),
                     quant)
    return p, (mmprojs[0] if mmprojs else None), quant


def vllm_dir(spec: ModelSpec | None, target: str) -> Path:
    from vlmselect.runners.hf import resolve_local

    path = resolve_local(spec.hf_repo if spec is not None and not Path(target).expanduser().is_dir() else target)
    if path is None:
        name = spec.id if spec else target
        raise UsageError(f"{name} is not downloaded", f"run `vlmselect pull {name} --runner vllm` first")
    return path


def _context(spec: ModelSpec | None, path: Path | None, limit: int) -> int:
    """The context to start with: the smoke workload fits in `limit`; never more than the model has."""
    if spec is not None:
        return min(spec.context_max, limit)
    if path is not None and path.is_dir():
        try:
            cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
            t = cfg.get("text_config") or cfg
            return min(int(t.get("max_position_embeddings") or limit), limit)
        except (OSError, ValueError):
            pass
    return limit


def smoke_via_server(spec: ModelSpec | None, target: str, runner: str | None, quant: str | None, server: str | None,
                     png: bytes, prompt: str, max_new_tokens: int, ready_timeout_s: float | None,
                     c: Console) -> dict[str, Any]:
    from vlmselect.runners import openai_compat as oc

    if server is not None:
        base = oc.check_url(server)
        model = oc.served_model(base)
        res = oc.chat(base, model, prompt, png, max_new_tokens)
        return _record(spec, target, runner or "openai", quant, res, server=base, served=model)

    from vlmselect.runners.server import free_port

    port = free_port()
    parse_memory: Callable[[str], dict[str, Any]]
    if runner == "llama.cpp":
        from vlmselect.runners import llamacpp as lc

        binary = lc.require_server()
        model_path, mmproj, quant = gguf_paths(spec, target, quant)
        if mmproj is None:
            raise UsageError(f"no mmproj file for {model_path.name}: llama-server would serve text only",
                             "put the model's mmproj*.gguf beside it (`vlmselect pull` downloads both)")
        ctx = _context(spec, None, 4096)
        srv = lc.start(binary, model_path, mmproj, ctx=ctx, ngl=0 if _cpu_build(binary) else 99, port=port)
        timeout = ready_timeout_s or lc.READY_TIMEOUT_S
        version = lc.server_version(binary)
        parse_memory = lc.parse_memory
        loaded = str(model_path)
    elif runner == "vllm":
        from vlmselect.runners import vllm as vl

        binary = vl.require_vllm()
        path = vllm_dir(spec, target)
        ctx = _context(spec, path, 4096)
        # The CPU build compiles its graphs at start-up unless told not to: minutes on a small machine.
        srv = vl.start(binary, path, ctx=ctx, port=port, extra=("--enforce-eager",) if vl.is_cpu_build(binary) else ())
        timeout = ready_timeout_s or vl.READY_TIMEOUT_S
        version = None
        parse_memory = vl.parse_memory
        loaded = str(path)
    else:  # pragma: no cover - callers pass only these
        raise UsageError(f"runner {runner!r} has no server", "--runner llama.cpp or --runner vllm")
    base = f"http://127.0.0.1:{port}"
    c.print(f"starting {runner} on {base} (log: {srv.log_path})")
    srv.start()
    try:
        try:
            ready_s = oc.wait_ready(base, timeout, alive=srv.alive, what=runner)
        except RuntimeFailure:
            c.print(srv.log_tail(), markup=False, highlight=False)
            raise
        served = oc.served_model(base)
        res = oc.chat(base, served, prompt, png, max_new_tokens)
        log = srv.log()
    finally:
        srv.stop()  # always: an error, a Ctrl-C (KeyboardInterrupt) or success
    memory = parse_memory(log)
    if runner == "vllm":
        version = memory.get("version")
    rec = _record(spec, target, runner, quant, res, server=None, served=served)
    rec.update({"target": loaded, "command": list(srv.argv), "ready_s": round(ready_s, 2), "server_version": version,
                "server_memory": memory, "context": ctx})
    if runner == "llama.cpp":
        parts = [memory.get(k) for k in ("model_mib", "kv_mib", "compute_mib", "output_mib", "mmproj_model_mib",
                                         "mmproj_compute_mib")]
        rec["server_reported_gib"] = round(sum(p for p in parts if p) / 1024, 4) if any(parts) else None
        if "CUDA" in log or "ROCm" in log or "Metal" in log:  # a GPU build reports its device buffers
            rec["vram_peak_gib"] = rec["server_reported_gib"]
        else:
            rec["device"] = "cpu"
    return rec


def _cpu_build(binary: str) -> bool:
    """A llama-server without a GPU backend warns on -ngl; ask for 0 layers there."""
    import subprocess

    try:
        out = subprocess.run([binary, "--list-devices"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return True
    text = out.stdout + out.stderr
    return not any(k in text for k in ("CUDA", "ROCm", "Metal", "Vulkan", "SYCL"))


def _record(spec: ModelSpec | None, target: str, runner: str | None, quant: str | None, res: ChatResult,
            server: str | None, served: str) -> dict[str, Any]:
    return {"id": spec.id if spec else target, "runner": runner, "quant": quant, "target": target, "server": server,
            "served_model": served, "answer": res.answer, "latency_s": round(res.latency_s, 3),
            "ttft_s": round(res.ttft_s, 3) if res.ttft_s is not None else None,
            "tokens_per_s": round(res.tokens_per_s, 2) if res.tokens_per_s else None,
            "new_tokens": res.completion_tokens, "prompt_tokens": res.prompt_tokens,
            "server_timings": res.server_timings, "vram_peak_gib": None}
