"""`vlmselect pull`: resolve a model to an artifact, check that it fits and that the disk has room,
then download it through Ollama or Hugging Face with progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from vlmselect.catalog import Catalog, ModelSpec, gb_to_gib
from vlmselect.errors import RuntimeFailure, UsageError
from vlmselect.hardware import HardwareProfile, free_disk_gib, model_dirs
from vlmselect.memory import Workload
from vlmselect.quant import QUANTS, quant as parse_quant

if TYPE_CHECKING:
    from vlmselect.catalog import TaskSpec
    from vlmselect.quant import Quant

DISK_MARGIN_GIB = 1.0


@dataclass
class PullPlan:
    model: ModelSpec
    runner: str  # ollama | hf | llama.cpp | vllm
    quant: str
    artifact: str  # Ollama tag or HF repo id
    files: list[str]  # HF allow-patterns (hf, vllm) or the GGUF and mmproj file names (llama.cpp)
    size_gb: float | None
    vram_gib: float
    usable_gib: float | None
    mode: str | None
    context: int | None = None  # llama.cpp / vllm: the context the estimate placed (-c / --max-model-len)

    @property
    def ngl(self) -> int:
        """llama.cpp layers on the GPU: all, none on a CPU, the share that fits when offloading."""
        if self.mode in ("gpu", "multi-gpu"):
            return 99
        if self.mode == "offload" and self.usable_gib and self.vram_gib:
            return max(1, int(self.model.arch.layers * min(self.usable_gib / self.vram_gib, 1.0)))
        return 0


@dataclass
class PullResult:
    target: str  # what smoke should load: the Ollama tag, the local snapshot directory or GGUF file
    runner: str  # ollama | hf | llama.cpp | vllm
    quant: str
    model_id: str
    artifact: str = ""  # the Ollama tag or the Hugging Face repo
    size_gb: float | None = None
    vram_gib: float | None = None
    mode: str | None = None
    mmproj: str | None = None  # llama.cpp: the local mmproj file
    command: str | None = None  # llama.cpp / vllm: the server command with the local paths
    files: list[str] = field(default_factory=list)  # what was downloaded, where (llama.cpp: GGUF and mmproj)
    warnings: list[str] = field(default_factory=list)  # what --force went past, what is missing

    def to_json(self) -> dict[str, Any]:
        return {"id": self.model_id, "runner": self.runner, "quant": self.quant, "artifact": self.artifact,
                "target": self.target, "size_gb": self.size_gb,
                "vram_estimated_gib": round(self.vram_gib, 2) if self.vram_gib is not None else None,
                "mode": self.mode, "mmproj": self.mmproj, "command": self.command, "files": list(self.files),
                "warnings": list(self.warnings)}


def plan_pull(cat: Catalog, hw: HardwareProfile, name: str, runner: str | None, quant_name: str | None,
              task: TaskSpec | None = None) -> PullPlan:
    """What to download: the pick `recommend` would make for this model (same placement, same
    quant preference), within the runner and quant asked for."""
    from vlmselect.placement import runners_for
    from vlmselect.recommend import Request, alternatives, best_for_model

    m = cat.model(name)
    if not isinstance(m, ModelSpec):
        raise UsageError(f"{m.id} is a hosted API: there is nothing to download", "pick a local model: `vlmselect models`")
    want = _pull_runner(runner)
    q = parse_quant(quant_name) if quant_name else None
    if q is not None and want in ("transformers", "vllm") and q.fmt == "gguf":
        raise UsageError(f"{q.id} is a GGUF quant: the {runner} runner loads safetensors",
                         "use --runner ollama or llama.cpp for GGUF quants, or --quant bf16 / nf4 / int8 / awq")
    if q is not None and want in ("ollama", "llama.cpp") and q.fmt not in ("gguf", "fp"):
        raise UsageError(f"{want} has no {q.id} files", "use --runner hf or vllm for " + q.id)
    runners = [r for r in runners_for(m) if r in ((want,) if want else ("ollama", "transformers"))]
    req = Request(task=task, workload=pull_workload(m))
    best = None
    if q is None and runners:
        best = best_for_model(cat, hw, req, m.id, runners)
    elif runners and q is not None:
        options = [p for p in alternatives(cat, hw, req, m.id)
                   if p.runner in runners and p.quant.fmt == q.fmt and p.quant.bits == q.bits]
        best = options[0] if options else None
    if best is None:
        return _unplaceable(m, want, q)
    if best.runner == "ollama":
        tag = next(t for t in m.runners["ollama"] if t.get("quant") == best.quant.id)
        return PullPlan(m, "ollama", best.quant.id, tag["tag"], [], tag.get("size_gb"),
                        best.mem.total_gib, best.usable_gib, best.mode)
    if best.runner == "llama.cpp":
        repo, files, size = gguf_artifact(m, best.quant.id)
        return PullPlan(m, "llama.cpp", best.quant.id, repo, files, size, best.mem.total_gib, best.usable_gib, best.mode,
                        best.mem.context_tokens)
    repo, files, size = hf_artifact(m, best.quant.id)
    return PullPlan(m, "vllm" if best.runner == "vllm" else "hf", best.quant.id, repo, files, size,
                    best.mem.total_gib, best.usable_gib, best.mode, best.mem.context_tokens)


def pull_workload(m: ModelSpec) -> Workload:
    """The default workload (4096 text tokens, one image, 256 new), kept inside a short model's context."""
    return Workload(context=min(4096, max(m.context_max // 2, 1)), max_new_tokens=min(256, max(m.context_max // 4, 1)))


def smoke_refusal(plan: PullPlan, trust_remote_code: bool) -> UsageError | None:
    """Why `pull --smoke` would download and then fail its smoke test: said before the download."""
    from vlmselect.commands import HF_SMOKE_QUANTS

    if plan.runner == "hf" and plan.quant not in HF_SMOKE_QUANTS:
        return UsageError(f"`vlmselect smoke` does not load {plan.quant} checkpoints (it takes {', '.join(HF_SMOKE_QUANTS)})",
                          f"drop --smoke to download {plan.artifact}, or pick --quant nf4 / int8 / bf16")
    if plan.runner == "hf" and plan.model.trust_remote_code and not trust_remote_code:
        return UsageError(f"{plan.model.hf_repo} runs its own Python code when loaded, so the smoke test needs your word",
                          f"add --trust-remote-code after reviewing {plan.model.hf_repo}, or drop --smoke")
    return None


def _pull_runner(runner: str | None) -> str | None:
    """--runner of pull, by the one runner vocabulary (hf = transformers, llamacpp = llama.cpp)."""
    from vlmselect.runner_names import runner_or_none

    if runner is None:
        return None
    r = runner_or_none(runner)
    if r is None:
        raise UsageError(f"unknown runner {runner!r} for pull", "--runner ollama, hf, llama.cpp or vllm")
    return r.value


def _unplaceable(m: ModelSpec, want: str | None, q: Quant | None) -> PullPlan:
    """Nothing runs here: still say what the download would be, so --force can go ahead."""
    from vlmselect.memory import estimate_memory

    runner = want or ("ollama" if m.runners.get("ollama") else "transformers")
    if runner == "llama.cpp":
        gguf = m.runners.get("gguf") or {}
        files = gguf.get("files") or {}
        qid = q.id if q is not None else next(iter(files), None)
        if qid is None or qid not in files:
            raise UsageError(f"{m.id} has no GGUF file" + (f" at {q.id}" if q else "") + " in the catalog",
                             "quants: " + (", ".join(files) or "none") + "; or try --runner ollama / hf")
        repo, names, size = gguf_artifact(m, qid)
        mem = estimate_memory(m, QUANTS[qid], "llama.cpp", pull_workload(m))
        return PullPlan(m, "llama.cpp", qid, repo, names, size, mem.total_gib, None, None, mem.context_tokens)
    if runner == "ollama":
        tags = m.runners.get("ollama") or []
        if not tags:
            raise UsageError(f"{m.id} has no Ollama tag in the catalog", "try --runner hf")
        tag = next((t for t in tags if q is None or t.get("quant") == q.id), None)
        if tag is None:  # so q is not None: without one the first tag matches
            raise UsageError(f"{m.id} has no Ollama tag at {cast('Quant', q).id}",
                             "tags: " + ", ".join(f"{t['tag']} ({t.get('quant')})" for t in tags))
        qq = QUANTS.get(tag.get("quant") or "", QUANTS["q4_k_m"])  # unknown quant: size it as the library default
        mem = estimate_memory(m, qq, "ollama", pull_workload(m))
        return PullPlan(m, "ollama", qq.id, tag["tag"], [], tag.get("size_gb"), mem.total_gib, None, None)
    qq = q or QUANTS["bf16"]
    repo, files, size = hf_artifact(m, qq.id)
    mem = estimate_memory(m, qq, runner, pull_workload(m))
    return PullPlan(m, "vllm" if runner == "vllm" else "hf", qq.id, repo, files, size, mem.total_gib, None, None,
                    mem.context_tokens)


def gguf_artifact(m: ModelSpec, q: str) -> tuple[str, list[str], float | None]:
    """(repo, [GGUF file, mmproj file], published GB of both) for llama.cpp at quant `q`."""
    g = m.runners.get("gguf") or {}
    f = (g.get("files") or {}).get(q)
    if not f or not g.get("repo"):
        raise UsageError(f"{m.id} has no GGUF file at {q} in the catalog", "try another --quant or --runner")
    mm = g.get("mmproj") or {}
    names = [f["file"]] + ([mm["file"]] if mm.get("file") else [])
    size = (f.get("size_gb") or 0) + (mm.get("size_gb") or 0) or None
    return g["repo"], names, size


HF_WEIGHT_FILES = ["*.safetensors", "*.safetensors.index.json"]
HF_SIDE_FILES = ["*.json", "*.model", "*.txt", "*.jinja", "*.tiktoken", "*.py"]


def hf_artifact(m: ModelSpec, q: str) -> tuple[str, list[str], float | None]:
    """(repo, allow_patterns, published GB) for the transformers runner at quant `q`."""
    qq = QUANTS[q]
    if qq.fmt in ("awq", "gptq", "fp8") and m.runners.get(qq.fmt):
        art = m.runners[qq.fmt]
        return art["repo"], HF_WEIGHT_FILES + HF_SIDE_FILES, art.get("size_gb")
    # bf16 / fp16 / nf4 / int8 all start from the full-precision safetensors.
    t = m.runners.get("transformers") or {}
    return m.hf_repo, HF_WEIGHT_FILES + HF_SIDE_FILES, t.get("size_gb")


def preflight(plan: PullPlan) -> list[str]:
    """Problems that stop the pull (unless --force): no fit, no disk."""
    problems = []
    if plan.mode is None:  # no placement at all; offload and CPU runs are slow but they run
        where = f"{plan.usable_gib:.1f} GiB usable" if plan.usable_gib is not None else "not enough memory on this machine"
        problems.append(f"{plan.model.id} at {plan.quant} needs {plan.vram_gib:.1f} GiB; {where}")
    d = model_dirs()["ollama" if plan.runner == "ollama" else "huggingface"]  # llama.cpp and vLLM files: the HF cache
    free = free_disk_gib(d)
    if plan.size_gb and free is not None and gb_to_gib(plan.size_gb) + DISK_MARGIN_GIB > free:
        problems.append(f"download is {plan.size_gb:.1f} GB but only {free:.1f} GiB is free at {d}")
    return problems


def fetch(plan: PullPlan, on_progress: Callable[[str, Any], None] | None = None) -> PullResult:
    """Download what `plan` names. `on_progress(status, layer)` gets Ollama's progress lines;
    the Hugging Face download shows huggingface_hub's own progress bars."""
    if plan.runner == "ollama":
        from vlmselect.runners import ollama as rt

        rt.check_tag(plan.artifact)
        try:
            rt.pull(plan.artifact, on_progress or (lambda status, layer: None))
        except KeyboardInterrupt:
            raise RuntimeFailure(f"pull of {plan.artifact} interrupted", rt.RESUME_HINT) from None
        return PullResult(plan.artifact, "ollama", plan.quant, plan.model.id, plan.artifact, plan.size_gb,
                          plan.vram_gib, plan.mode)
    if plan.runner == "llama.cpp":
        return _pull_gguf(plan)
    from vlmselect.runners.hf import download

    path = download(plan.artifact, plan.files)
    res = PullResult(str(path), "hf", plan.quant, plan.model.id, plan.artifact, plan.size_gb, plan.vram_gib, plan.mode,
                     files=[str(path)])
    if plan.runner == "vllm":
        from vlmselect.runners import vllm

        res.runner, res.command = "vllm", vllm.command_line(path, ctx=plan.context or 4096)
    return res


def _pull_gguf(plan: PullPlan) -> PullResult:
    from vlmselect.runners import llamacpp
    from vlmselect.runners.hf import download_files

    paths = download_files(plan.artifact, plan.files)
    model, mmproj = paths[0], (paths[1] if len(paths) > 1 else None)
    res = PullResult(str(model), "llama.cpp", plan.quant, plan.model.id, plan.artifact, plan.size_gb, plan.vram_gib,
                     plan.mode, mmproj=str(mmproj) if mmproj else None, files=[str(p) for p in paths],
                     command=llamacpp.command_line(model, mmproj, ctx=plan.context or 4096, ngl=plan.ngl))
    if mmproj is None:
        res.warnings.append(f"the catalog names no mmproj for {plan.model.id}: llama-server serves text only")
    return res
