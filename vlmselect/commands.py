"""The next step the tool prints for a placement: the command that runs it."""

from __future__ import annotations

from vlmselect import runtimes as rtm
from vlmselect.catalog import ModelSpec
from vlmselect.memory import Workload
from vlmselect.placement import Placement


def run_command(m: ModelSpec, p: Placement, w: Workload) -> str:
    r = m.runners
    q, runner, mode = p.quant, p.runner, p.mode
    ctx = p.mem.context_tokens
    if runner == "ollama":
        tag = next(t["tag"] for t in r["ollama"] if t.get("quant") == q.id)
        rt = p.mem.runtime
        env = rtm.command_env(rt, p.mem.context_tokens // max(rt.parallel, 1)) if rt else {}
        if not env:
            return f"ollama run {tag}"
        # Ollama reads these from the server's environment, not from `ollama run`.
        return " ".join([f"{k}={v}" for k, v in env.items()] + ["ollama", "serve", "&", "ollama", "run", tag])
    if runner == "llama.cpp":
        g = r["gguf"]
        f = g["files"][q.id]
        mm = (g.get("mmproj") or {}).get("file", "mmproj.gguf")
        # Layers on the GPU: all, the share that fits when offloading, none on a CPU.
        ngl = {"gpu": 99, "multi-gpu": 99, "cpu": 0}.get(mode, max(1, int(m.arch.layers * p.gpu_share)))
        split = f" --tensor-split {','.join(['1'] * p.gpus)}" if mode == "multi-gpu" else ""
        rt_flags = " ".join(rtm.command_flags(p.mem.runtime, m.image_tokens, w.width, w.height, w.images)) if p.mem.runtime else ""
        return (f"llama-server --hf-repo {g['repo']} --hf-file {f['file']} --mmproj-url "
                f"https://huggingface.co/{g['repo']}/resolve/main/{mm} -c {ctx} -ngl {ngl}{split}"
                + (f" {rt_flags}" if rt_flags else ""))
    if runner == "vllm":
        repo = (r.get(q.fmt) or {}).get("repo") if q.fmt in ("awq", "gptq", "fp8") else m.hf_repo
        parts = [f"vllm serve {repo}", f"--max-model-len {ctx}",
                 f"--limit-mm-per-prompt '{{\"image\": {max(w.images, 1)}}}'"]
        if q.id == "fp16":
            parts.append("--dtype float16")
        if p.gpus > 1:
            parts.append(f"--tensor-parallel-size {p.gpus}")
        if m.trust_remote_code:
            parts.append("--trust-remote-code")
        if p.mem.runtime:  # flags that cap what vLLM reserves, as the estimate assumed
            flags = rtm.command_flags(p.mem.runtime, m.image_tokens, w.width, w.height, w.images)
            parts += [f"'{x}'" if x.startswith("{") else x for x in flags]
        return " ".join(parts)
    # transformers: our own runner does the loading right (dtype, NF4, device_map)
    trc = " --trust-remote-code" if m.trust_remote_code else ""
    return f"vlmselect pull {m.id} --runner hf --quant {q.id} --smoke{trc}"
