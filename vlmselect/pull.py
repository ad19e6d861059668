"""`vlmselect pull`: resolve a model to an artifact, check that it fits and that the disk has room,
then download it through Ollama or Hugging Face with progress."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from vlmselect.catalog import Catalog, ModelSpec, gb_to_gib
from vlmselect.errors import RuntimeFailure, UsageError
from vlmselect.hardware import HardwareProfile, free_disk_gib, model_dirs
from vlmselect.memory import Workload
from vlmselect.quant import QUANTS, quant as parse_quant

DISK_MARGIN_GIB = 1.0


@dataclass
class PullPlan:
    model: ModelSpec
    runner: str  # ollama | hf | llama.cpp | vllm
    quant: str
    artifact: str  # Ollama tag or HF repo id
    files: list  # HF allow-patterns (hf, vllm) or the GGUF and mmproj file names (llama.cpp)
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
    runner: str
    quant: str
    model_id: str
    mmproj: str | None = None  # llama.cpp: the local mmproj file
    command: str | None = None  # llama.cpp / vllm: the server command with the local paths


def plan_pull(cat: Catalog, hw: HardwareProfile, name: str, runner: str | None, quant_name: str | None,
              task=None) -> PullPlan:
    """What to download: the pick `recommend` would make for this model (same placement, same
    quant preference), within the runner and quant asked for."""
    from vlmselect.placement import runners_for
    from vlmselect.recommend import Request, alternatives, best_for_model

    m = cat.model(name)
    if m.kind != "local":
        raise UsageError(f"{m.id} is a hosted API: there is nothing to download", "pick a local model: `vlmselect models`")
    if runner not in PULL_RUNNERS:
        raise UsageError(f"unknown runner {runner!r} for pull", "--runner ollama, hf, llama.cpp or vllm")
    want = PULL_RUNNERS[runner]
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
    elif runners:
        options = [p for p in alternatives(cat, hw, req._replace(runner=None), m.id)
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


def _unplaceable(m: ModelSpec, want: str | None, q) -> PullPlan:
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
        if tag is None:
            raise UsageError(f"{m.id} has no Ollama tag at {q.id}",
                             "tags: " + ", ".join(f"{t['tag']} ({t.get('quant')})" for t in tags))
        qq = QUANTS.get(tag.get("quant") or "", QUANTS["q4_k_m"])  # unknown quant: size it as the library default
        mem = estimate_memory(m, qq, "ollama", pull_workload(m))
        return PullPlan(m, "ollama", qq.id, tag["tag"], [], tag.get("size_gb"), mem.total_gib, None, None)
    qq = q or QUANTS["bf16"]
    repo, files, size = hf_artifact(m, qq.id)
    mem = estimate_memory(m, qq, runner, pull_workload(m))
    return PullPlan(m, "vllm" if runner == "vllm" else "hf", qq.id, repo, files, size, mem.total_gib, None, None,
                    mem.context_tokens)


# --runner value -> the runner name placements use
PULL_RUNNERS = {None: None, "ollama": "ollama", "hf": "transformers", "transformers": "transformers",
                "llama.cpp": "llama.cpp", "llamacpp": "llama.cpp", "vllm": "vllm"}


def gguf_artifact(m: ModelSpec, q: str) -> tuple[str, list, float | None]:
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


def hf_artifact(m: ModelSpec, q: str) -> tuple[str, list, float | None]:
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


def pull_model(cat: Catalog, hw: HardwareProfile, name: str, *, runner: str | None, quant: str | None,
               yes: bool, force: bool, smoke: bool = False, trust_remote_code: bool = False) -> PullResult:
    from vlmselect.render import console

    plan = plan_pull(cat, hw, name, runner, quant)
    refusal = smoke_refusal(plan, trust_remote_code) if smoke else None
    if refusal is not None:
        raise refusal
    c = console(stderr=True)
    size = f"{plan.size_gb:.1f} GB" if plan.size_gb else "size not published"
    c.print(f"{plan.model.name}: {plan.artifact} ({plan.quant}, {size}) via {plan.runner}; "
            f"estimated {plan.vram_gib:.1f} GiB" + (f", runs as {plan.mode}" if plan.mode else ""))
    problems = preflight(plan)
    if problems and not force:
        raise RuntimeFailure("pre-flight check failed: " + "; ".join(problems),
                             "pick a smaller --quant (see `vlmselect estimate`), free space, or pass --force")
    for p in problems:
        c.print(f"[yellow]warning (--force):[/yellow] {p}")
    if plan.mode in ("offload", "cpu"):
        c.print(f"[yellow]note:[/yellow] it will run as {plan.mode}: slow (see `vlmselect estimate {plan.model.id}`)")
    if not yes and sys.stdin.isatty():
        import typer

        if not typer.confirm(f"Download {plan.artifact}?", default=True):
            raise RuntimeFailure("cancelled", "pass --yes to skip the question")
    if plan.runner == "ollama":
        _pull_ollama(plan.artifact, c)
        return PullResult(plan.artifact, "ollama", plan.quant, plan.model.id)
    if plan.runner == "llama.cpp":
        return _pull_gguf(plan, c)
    from vlmselect.runners.hf import download

    path = download(plan.artifact, plan.files, c)
    if plan.runner == "vllm":
        from vlmselect.runners import vllm

        cmd = vllm.command_line(path, ctx=plan.context or 4096)
        c.print("serve it with:")
        print(cmd)  # stdout: the one line a script can take
        return PullResult(str(path), "vllm", plan.quant, plan.model.id, command=cmd)
    return PullResult(str(path), "hf", plan.quant, plan.model.id)


def _pull_gguf(plan: PullPlan, c) -> PullResult:
    from vlmselect.runners import llamacpp
    from vlmselect.runners.hf import download_files

    paths = download_files(plan.artifact, plan.files, c)
    model, mmproj = paths[0], (paths[1] if len(paths) > 1 else None)
    if mmproj is None:
        c.print(f"[yellow]note:[/yellow] the catalog names no mmproj for {plan.model.id}: llama-server serves text only")
    cmd = llamacpp.command_line(model, mmproj, ctx=plan.context or 4096, ngl=plan.ngl)
    c.print("serve it with:")
    print(cmd)
    return PullResult(str(model), "llama.cpp", plan.quant, plan.model.id, mmproj=str(mmproj) if mmproj else None,
                      command=cmd)


def _pull_ollama(tag: str, c) -> None:
    from vlmselect.runners import ollama as rt

    rt.check_tag(tag)
    if c.is_terminal:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      TimeRemainingColumn(), console=c) as bar:
            tasks: dict = {}

            def on(status, layer):
                if layer is None or not layer.total:
                    return
                if layer.digest not in tasks:
                    tasks[layer.digest] = bar.add_task(f"layer {layer.digest.split(':')[-1][:12]}", total=layer.total)
                bar.update(tasks[layer.digest], completed=layer.completed)

            _run_pull(rt, tag, on)
    else:
        seen: dict = {}

        def on(status, layer):
            # Line-based: one line per status change and per 25 % of each layer.
            if layer is not None and layer.total:
                step = int(4 * layer.completed / layer.total)
                if seen.get(layer.digest) != step:
                    seen[layer.digest] = step
                    c.print(f"{status}: {layer.completed}/{layer.total} bytes ({100 * layer.completed // layer.total}%)")
            elif seen.get("_status") != status:
                seen["_status"] = status
                c.print(status)

        _run_pull(rt, tag, on)
    c.print(f"pulled {tag}")


def _run_pull(rt, tag, on) -> None:
    try:
        rt.pull(tag, on)
    except KeyboardInterrupt:
        raise RuntimeFailure(f"pull of {tag} interrupted",
                             "run the same command again: Ollama keeps the partial layers and resumes") from None
