"""The next steps the tool prints for a placement: commands it (or the runner) can carry out.

Every command is built with shlex.join from parts checked against a strict pattern, so a catalog
value can never smuggle shell syntax into what a user copies. `--trust-remote-code` is never
filled in: the user adds it after reviewing the repository.
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

from vlmselect import runtimes as rtm
from vlmselect.catalog import ModelSpec
from vlmselect.memory import Workload
from vlmselect.placement import Placement

# What the smoke test's transformers path loads (vlmselect/smoke.py): other quants are pulled, not smoked.
HF_SMOKE_QUANTS = ("bf16", "fp16", "nf4", "int8", "fp32")
# CUDA numbers devices fastest first unless told to follow the PCI bus, as NVML's indices do
# (CUDA C Programming Guide, "CUDA Environment Variables": CUDA_DEVICE_ORDER, CUDA_VISIBLE_DEVICES).
CUDA_ENV_DOC = "https://docs.nvidia.com/cuda/cuda-c-programming-guide/index.html#env-vars"

_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_TAG = re.compile(r"[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)?(:[A-Za-z0-9][A-Za-z0-9._-]*)?")
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*\.gguf")
_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")
_UUID = re.compile(r"(GPU|MIG)-[0-9a-fA-F-]+")


class UnsafeValue(ValueError):
    """A catalog value that is not what its field allows: no command is printed for it."""


def checked(value: object, pattern: re.Pattern[str], what: str) -> str:
    s = str(value)
    if not pattern.fullmatch(s) or ".." in s:
        raise UnsafeValue(f"{what} {s!r} is not a valid {what}")
    return s


class NextSteps(NamedTuple):
    """The command to run, the ones that follow it, and what the user must decide."""

    command: str
    then: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def lines(self) -> list[str]:
        return [self.command, *self.then]


def gpu_env(p: Placement) -> list[str]:
    """`CUDA_VISIBLE_DEVICES=…` (and the device order it assumes) when the placement uses some GPUs, not all."""
    if not p.subset:
        return []
    if p.gpu_uuids and all(_UUID.fullmatch(u or "") for u in p.gpu_uuids):
        return [f"CUDA_VISIBLE_DEVICES={','.join(p.gpu_uuids)}"]  # UUIDs: no ordering ambiguity
    return ["CUDA_DEVICE_ORDER=PCI_BUS_ID", f"CUDA_VISIBLE_DEVICES={','.join(str(int(i)) for i in p.gpu_indices)}"]


_ENV = re.compile(r"[A-Z][A-Z0-9_]*=[A-Za-z0-9._,:-]+")


def runtime_flags(m: ModelSpec, p: Placement, w: Workload) -> list[str]:
    """Flags that make the runtime allocate what the estimate assumed (flash attention, KV type, image cap)."""
    return list(rtm.command_flags(p.mem.runtime, m.image_tokens, w.width, w.height, w.images)) if p.mem.runtime else []


def server_env(p: Placement) -> list[str]:
    """Ollama reads these from its server's environment (OLLAMA_FLASH_ATTENTION, OLLAMA_KV_CACHE_TYPE)."""
    rt = p.mem.runtime
    env = rtm.command_env(rt, p.mem.context_tokens // max(rt.parallel, 1)) if rt else {}
    out = [f"{k}={v}" for k, v in env.items()]
    for e in out:
        if not _ENV.fullmatch(e):
            raise UnsafeValue(f"environment setting {e!r} is not a plain NAME=value")
    return out


def _line(env: list[str], argv: list[str]) -> str:
    return " ".join([*env, shlex.join(argv)])


def hf_cache_glob(repo: str, filename: str) -> str:
    """Where huggingface_hub's cache keeps `filename` of `repo` (models--org--name/snapshots/REV/...),
    with the revision as a shell glob: the shell fills it in once the file is downloaded."""
    from vlmselect.hardware import model_dirs

    base = model_dirs()["huggingface"] / f"models--{repo.replace('/', '--')}" / "snapshots"
    return f"{shlex.quote(str(base))}/*/{shlex.quote(filename)}"


def next_steps(m: ModelSpec, p: Placement, w: Workload) -> NextSteps:
    try:
        return _next_steps(m, p, w)
    except UnsafeValue as exc:
        return NextSteps(f"# no command printed: {exc} (fix the catalog entry of {m.id!r})")


def run_command(m: ModelSpec, p: Placement, w: Workload) -> str:
    return next_steps(m, p, w).command


def trust_note(m: ModelSpec) -> str:
    return f"add --trust-remote-code after reviewing {m.hf_repo}: it runs the repository's own Python code"


def _next_steps(m: ModelSpec, p: Placement, w: Workload) -> NextSteps:
    r = m.runners
    q, runner, mode = p.quant, p.runner, p.mode
    mid = checked(m.id, _ID, "model id")
    ctx = int(p.mem.context_tokens)
    env = gpu_env(p)
    notes: list[str] = []
    if env:
        notes.append(f"uses GPU {', '.join(str(i) for i in p.gpu_indices)} only ({' '.join(env)}; {CUDA_ENV_DOC})")
    if runner == "ollama":
        tag = checked(next(t["tag"] for t in r["ollama"] if t.get("quant") == q.id), _TAG, "Ollama tag")
        run = shlex.join(["ollama", "run", tag])
        serve = [*env, *server_env(p)]
        if serve:  # Ollama's server picks the GPUs and its KV/attention settings when it starts
            notes.append("restart the Ollama server with these settings: `ollama run` is only its client")
            return NextSteps(_line(serve, ["ollama", "serve"]), (run,), tuple(notes))
        return NextSteps(run, (), tuple(notes))
    if runner == "llama.cpp":
        g = r["gguf"]
        repo = checked(g["repo"], _REPO, "GGUF repo")
        f = checked(g["files"][q.id]["file"], _FILE, "GGUF file")
        mm = checked((g.get("mmproj") or {}).get("file", "mmproj.gguf"), _FILE, "mmproj file")
        # Layers on the GPU: all, the share that fits when offloading, none on a CPU.
        ngl = {"gpu": 99, "multi-gpu": 99, "cpu": 0}.get(mode, max(1, int(m.arch.layers * p.gpu_share)))
        pull = shlex.join(["vlmselect", "pull", mid, "--runner", "llama.cpp", "--quant", q.id])
        tail = ["-c", str(ctx), "-ngl", str(ngl)]
        if mode == "multi-gpu":
            tail += ["--tensor-split", ",".join(f"{u:.0f}" for u in p.gpu_usable_gib)]
        tail += runtime_flags(m, p, w)
        server = " ".join([*env, "llama-server", "-m", hf_cache_glob(repo, f), "--mmproj", hf_cache_glob(repo, mm),
                           shlex.join(tail)])
        notes.append("llama-server loads the local files that `vlmselect pull` fetched (it prints their paths)")
        return NextSteps(pull, (server,), tuple(notes))
    if runner == "vllm":
        src = (r.get(q.fmt) or {}).get("repo") if q.fmt in ("awq", "gptq", "fp8") else m.hf_repo
        repo = checked(src, _REPO, "Hugging Face repo")
        argv = ["vllm", "serve", repo, "--max-model-len", str(ctx),
                "--limit-mm-per-prompt", f'{{"image": {max(int(w.images), 1)}}}']
        if q.id == "fp16":
            argv += ["--dtype", "float16"]
        if p.gpus > 1:
            argv += ["--tensor-parallel-size", str(p.gpus)]
        argv += runtime_flags(m, p, w)  # flags that cap what vLLM reserves, as the estimate assumed
        if m.trust_remote_code:
            notes.append(trust_note(m))
        return NextSteps(_line(env, argv), (), tuple(notes))
    # transformers: our own runner does the loading right (dtype, NF4, device_map)
    checked(m.hf_repo, _REPO, "Hugging Face repo")
    argv = ["vlmselect", "pull", mid, "--runner", "hf", "--quant", q.id]
    smoke = ["vlmselect", "smoke", mid, "--runner", "hf", "--quant", q.id]
    if q.id not in HF_SMOKE_QUANTS:
        notes.append(f"`vlmselect smoke` does not load {q.id} checkpoints; serve it with vLLM or transformers")
        return NextSteps(_line(env, argv), (), tuple(notes))
    if m.trust_remote_code:
        notes.append(trust_note(m) + ", then run the smoke test")
        return NextSteps(_line(env, argv), (_line(env, smoke),), tuple(notes))
    return NextSteps(_line(env, [*argv, "--smoke"]), (), tuple(notes))
