"""What to run for a plan: `vllm serve` per replica, a Ray cluster for multi-node models, a batch script.

Every command is built with shlex.join from catalog values the schema validated; nothing here is
executed. `--trust-remote-code` is never filled in: the user adds it after reviewing the repository.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlmselect.errors import UsageError
from vlmselect.memory import Workload

if TYPE_CHECKING:
    from vlmselect.catalog import ModelSpec
    from vlmselect.plan import Plan
    from vlmselect.quant import Quant

BASE_PORT = 8000
RAY_PORT = 6379


def model_repo(m: ModelSpec, quant: Quant) -> str:
    """The repository vLLM loads for this quant: the quantized repo for AWQ/GPTQ/FP8, else the model's."""
    if quant.fmt in ("awq", "gptq", "fp8"):
        return (m.runners.get(quant.fmt) or {}).get("repo") or m.hf_repo
    return m.hf_repo


def serve_args(plan: Plan, w: Workload, port: int, tp: int, pp: int = 1) -> list[str]:
    r = plan.replica
    args = ["vllm", "serve", model_repo(r.model, r.quant), "--max-model-len", str(r.mem.context_tokens),
            "--gpu-memory-utilization", "0.9", "--max-num-seqs", str(r.concurrency),
            "--limit-mm-per-prompt", json.dumps({"image": max(w.images, 1)}),
            "--tensor-parallel-size", str(tp)]
    if pp > 1:
        args += ["--pipeline-parallel-size", str(pp), "--distributed-executor-backend", "ray"]
    if r.quant.id == "fp16":
        args += ["--dtype", "float16"]
    return args + ["--host", "127.0.0.1", "--port", str(port)]


def commands(plan: Plan, w: Workload, gpus_per_node: int) -> dict[str, list[str]]:
    """{'serve': [...], 'ray': [...], 'notes': [...]} for the plan's replicas."""
    r = plan.replica
    notes = []
    if r.model.trust_remote_code:
        from vlmselect.commands import trust_note

        notes.append(trust_note(r.model))  # the same words as recommend's and estimate's next steps
    if r.tp <= gpus_per_node:
        per_node = gpus_per_node // r.tp
        serve = []
        for i in range(min(plan.replicas, per_node)):
            devices = ",".join(str(d) for d in range(i * r.tp, (i + 1) * r.tp))
            serve.append(f"CUDA_VISIBLE_DEVICES={devices} " + shlex.join(serve_args(plan, w, BASE_PORT + i, r.tp)))
        if plan.replicas > per_node:
            notes.append(f"run the same {per_node} command(s) on each of {plan.nodes} nodes, and put a load balancer"
                         f" (or the batch script's --servers) in front of the {plan.replicas} endpoints")
        if len(serve) > 1:
            notes.append("one server per GPU group; vLLM >= 0.9 can also serve them as one process with"
                         " --data-parallel-size")
        notes.append("--host 127.0.0.1 serves this machine only; bind another address behind your firewall")
        return {"serve": serve, "ray": [], "notes": notes}
    # The model needs more GPUs than one node has: tensor parallel within a node, pipeline across nodes.
    pp = -(-r.tp // gpus_per_node)
    ray = [shlex.join(["ray", "start", "--head", f"--port={RAY_PORT}", f"--num-gpus={gpus_per_node}"]) + "   # on the head node",
           shlex.join(["ray", "start", f"--address=HEAD_IP:{RAY_PORT}", f"--num-gpus={gpus_per_node}"])
           + f"   # on each of the other {pp - 1} node(s)"]
    serve = [shlex.join(serve_args(plan, w, BASE_PORT, gpus_per_node, pp)) + "   # on the head node"]
    notes.append("Ray listens on every interface of the nodes: run it on a private network only")
    return {"serve": serve, "ray": ray, "notes": notes}


def pipeline_config(plan: Plan, w: Workload, prompt: str) -> dict[str, Any]:
    r = plan.replica
    return {
        "model": model_repo(r.model, r.quant), "engine": "vllm", "replicas": plan.replicas,
        "gpus_per_replica": r.tp, "max_model_len": r.mem.context_tokens, "max_num_seqs": r.concurrency,
        "dtype": "float16" if r.quant.id == "fp16" else "auto", "prompt": prompt,
        "max_tokens": w.max_new_tokens, "trust_remote_code": False,
    }


def write_pipeline(path: Path, plan: Plan, w: Workload, prompt: str = "Transcribe all text in this image.") -> Path:
    """Write the Ray Data batch script with this plan's settings filled in."""
    from importlib.resources import files

    template = files("vlmselect").joinpath("batch_template.py").read_text(encoding="utf-8")
    import pprint

    cfg = pprint.pformat(pipeline_config(plan, w, prompt), sort_dicts=False)  # a Python literal, not JSON
    text = template.replace("CONFIG: dict = {}  # filled in by vlmselect plan", f"CONFIG: dict = {cfg}")
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", "pass a writable path to --write-pipeline") from None
    return path
