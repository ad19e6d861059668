"""`vlmselect smoke`: a generated test card, a scored answer, measured speed and memory.

The card holds known text (an invoice-like block with numbers), a bar chart with labelled
values and a coloured shape. The answer is scored by character error rate on the text and
exact checks on the chart values and the colour. A model that fails is reported as failed,
with its measurements.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from vlmselect import __version__
from vlmselect.catalog import ApiSpec, Arch, Catalog, ModelSpec
from vlmselect.errors import RuntimeFailure, UsageError
from vlmselect.units import GIB

# The card and its scoring, re-exported for callers of smoke (`X as X` says so to mypy).
from vlmselect.card import (
    CARD_BARS as CARD_BARS, CARD_COLOUR as CARD_COLOUR, CARD_PROMPT as CARD_PROMPT, CARD_TEXT as CARD_TEXT,
    MAX_CER as MAX_CER, Card as Card, _pil as _pil, line_cer as line_cer, make_card as make_card,
    read_image as read_image, score_card as score_card, score_expect as score_expect,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL.Image import Image

    from vlmselect.hardware.types import HardwareProfile


# ---------------------------------------------------------------- model specs for the estimate


def spec_from_config(path: Path, name: str) -> ModelSpec | None:
    """A ModelSpec read from a local config.json, so a model outside the catalog gets an estimate too."""
    from vlmselect.runners.hf import read_config, safetensors_bytes

    try:
        cfg = read_config(path)
    except (OSError, ValueError):
        return None
    t = cfg.get("text_config") or cfg
    v = cfg.get("vision_config") or {}
    try:
        heads = t["num_attention_heads"]
        hidden = t["hidden_size"]
        arch = Arch(layers=t["num_hidden_layers"], kv_heads=t.get("num_key_value_heads") or heads,
                    head_dim=t.get("head_dim") or hidden // heads, hidden=hidden, heads=heads, vocab=t.get("vocab_size"),
                    sliding_window=t.get("sliding_window"))
    except (KeyError, TypeError, ZeroDivisionError):
        return None
    dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or t.get("torch_dtype") or "bfloat16")
    width = 4 if "32" in dtype else 2
    params_b = safetensors_bytes(path) / width / 1e9
    if v.get("image_size") and v.get("patch_size"):
        per = int(cfg.get("image_seq_length") or (v["image_size"] // v["patch_size"]) ** 2)
        rule = {"rule": "fixed", "tokens": per, "patches": (v["image_size"] // v["patch_size"]) ** 2}
    else:
        rule = {"rule": "fixed", "tokens": 576}
    return ModelSpec(
        id=name, name=name, family=str(cfg.get("model_type", "unknown")), released=dt.date.today(),
        license="unknown", hf_repo=str(path), trust_remote_code=bool(cfg.get("auto_map")),
        params_total_b=max(params_b, 1e-6), arch=arch, context_max=t.get("max_position_embeddings") or 4096,
        image_tokens=rule, capabilities={}, sources=(), runners={"transformers": {"size_gb": safetensors_bytes(path) / 1e9}},
    )


# ---------------------------------------------------------------- records


SMOKE_RUNNERS = (None, "ollama", "hf", "llama.cpp", "vllm")  # by runner_names.Runner.short
SERVER_RUNNERS = ("llama.cpp", "vllm")


def measured_speeds(gpu_name: str | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Passed smoke records on this GPU: (model id, runner, quant) -> the newest record.

    Cheap (JSON files only), so `recommend` can use measured numbers where it has them. A record
    that is not one (damaged, edited by hand, of another shape) is skipped: it must not stop `recommend`.
    """
    from vlmselect.runner_names import runner_or_none

    d = data_dir() / "smoke"
    if not gpu_name or not d.is_dir():
        return {}
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for f in sorted(d.glob("*.json")):  # names start with a UTC timestamp: newest last
        rec = load_record(f)
        if (rec is None or rec.get("passed") is not True or rec.get("gpu") != gpu_name
                or not positive(rec.get("tokens_per_s")) or not isinstance(rec.get("quant"), str)
                or not isinstance(rec.get("id"), str) or not isinstance(rec.get("runner"), str)):
            continue
        r = runner_or_none(rec["runner"])
        out[(rec["id"], r.value if r else rec["runner"], rec["quant"])] = dict(
            rec, time=rec["time"] if isinstance(rec.get("time"), str) else "")
    return out


RECORD_MAX_BYTES = 4 * 2**20  # a record is a few KB


def load_record(f: Path) -> dict[str, Any] | None:
    """One saved smoke or bench record, or None when `f` does not hold one: not a plain file (a
    FIFO would block the read), too large, not JSON, nested too deeply, or not a JSON object."""
    from vlmselect.paths import read_small_file

    try:
        text = read_small_file(f, RECORD_MAX_BYTES)
        rec = json.loads(text) if text is not None else None
    except (OSError, ValueError, RecursionError):
        return None
    return rec if isinstance(rec, dict) else None


def positive(v: object) -> bool:
    """A finite number above zero (not a bool, not a string): a measurement a record may carry."""
    import math

    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def data_dir() -> Path:
    from vlmselect.paths import user_dir

    return user_dir("data")


def save_record(rec: dict[str, Any], kind: str = "smoke", name: str | None = None) -> Path:
    """A record in the user data dir's `kind` folder (smoke, bench), named by UTC time and `name`."""
    d = data_dir() / kind
    d.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name or rec["id"])[-80:]
    path = d / f"{stamp}-{safe}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)  # atomic: an interrupted run never leaves half a record
    return path


def try_save(rec: dict[str, Any], kind: str = "smoke", name: str | None = None) -> tuple[str | None, str | None]:
    """save_record, for a run that has finished: (path, None), or (None, why) when the data folder
    cannot take it (a file, read-only). The measurement is still shown; losing it to a folder would not help."""
    try:
        return str(save_record(rec, kind, name)), None
    except OSError as exc:
        return None, (f"not saved in {data_dir() / kind}: {exc.strerror or exc} "
                      "(set VLMSELECT_DATA_DIR to a writable folder)")


# ---------------------------------------------------------------- the smoke test


def _resolve(cat: Catalog, target: str, runner: str | None, model_id: str | None = None,
             quant: str | None = None) -> tuple[ModelSpec | None, str | None, str]:
    """(catalog spec or None, runner, what to load). `model_id` names the catalog entry of a
    target that is an artifact of it (`pull --smoke` passes the tag or directory it fetched)."""
    from vlmselect.runners.hf import resolve_local

    from vlmselect.runner_names import runner_or_none

    r = runner_or_none(runner)
    if runner is not None and (r is None or r.short not in SMOKE_RUNNERS):
        raise UsageError(f"unknown runner {runner!r} for smoke", "--runner ollama, hf, llama.cpp or vllm")
    runner = r.short if r else None
    if model_id is not None:  # `pull --smoke` passes the id of the local model it pulled
        return cast(ModelSpec, cat.model(model_id)), runner, target
    spec = None
    try:
        spec = cat.model(target)
    except UsageError:
        pass
    if isinstance(spec, ApiSpec):
        raise UsageError(f"{spec.id} is a hosted API", "smoke tests local models")
    if runner in SERVER_RUNNERS:
        return spec, runner, target
    if spec is not None:
        if runner is None:
            runner = "ollama" if spec.runners.get("ollama") else "hf"
        if runner == "ollama":
            entries = spec.runners.get("ollama") or []
            tags = [t["tag"] for t in entries]
            if not tags:
                raise UsageError(f"{spec.id} has no Ollama tag in the catalog", "try --runner hf")
            if target in tags:
                return spec, "ollama", target
            if quant is not None:  # the tag of that quant, or a refusal: never another quant silently
                from vlmselect.quant import quant as parse_quant

                want = parse_quant(quant).id
                hit = next((t["tag"] for t in entries if t.get("quant") == want), None)
                if hit is None:
                    raise UsageError(f"{spec.id} has no Ollama tag at {want}",
                                     "tags: " + ", ".join(f"{t['tag']} ({t.get('quant') or '?'})" for t in entries))
                return spec, "ollama", hit
            return spec, "ollama", tags[0]
        return spec, "hf", spec.hf_repo
    local = Path(target).expanduser()
    if runner is None:
        runner = "hf" if (local.is_dir() or ("/" in target and ":" not in target)) else "ollama"
    if runner == "hf" and not local.is_dir() and resolve_local(target) is None and "/" not in target:
        raise UsageError(f"unknown model {target!r}",
                         "give a catalog id (`vlmselect models`), an Ollama tag, an HF repo id or a local directory")
    return None, runner, target


@dataclass
class SmokeResult:
    """One smoke run: the record as saved (see `record`), passed or not."""

    record: dict[str, Any]

    @property
    def passed(self) -> bool:
        return bool(self.record.get("passed"))

    @property
    def path(self) -> str:
        return str(self.record.get("record", ""))

    def to_json(self) -> dict[str, Any]:
        return self.record


def smoke_model(cat: Catalog, target: str, *, runner: str | None = None, quant: str | None = None,
                image: Path | None = None, prompt: str | None = None, expect: str | None = None,
                trust_remote_code: bool = False, max_new_tokens: int = 128,
                hw: HardwareProfile | None = None, model_id: str | None = None, warn: Callable[[str], None] | None = None, server: str | None = None,
                ready_timeout_s: float | None = None) -> SmokeResult:
    """Run the smoke test and save its record. `warn(text)` is told what the user must know as it
    happens (that a repository's own code is about to run)."""

    if image is not None and not Path(image).is_file():
        raise UsageError(f"image not found: {image}", "pass the path of a PNG or JPEG file")
    if image is not None and prompt is None:
        raise UsageError("--image needs --prompt", "for example --prompt 'What is the total?' --expect 1234.50")
    if max_new_tokens < 1:
        raise UsageError("--max-new-tokens must be at least 1", "for example --max-new-tokens 128")
    if server is not None and runner not in (None, "openai", *SERVER_RUNNERS):
        raise UsageError(f"--server talks to an OpenAI-compatible server, not to --runner {runner}",
                         "drop --runner, or give --runner llama.cpp / vllm to label the record")
    if server is not None:
        spec = _catalog_spec(cat, target, model_id)
        load_target = target
    else:
        spec, runner, load_target = _resolve(cat, target, runner, model_id, quant)
    card = None
    if image is not None:
        png = read_image(Path(image))
        ask = prompt
    else:
        card = make_card()
        png = card.png
        ask = prompt or CARD_PROMPT
    # What was measured before a failure: a failed run is recorded too, with these.
    ask = ask or ""
    partial: dict[str, Any] = {"id": spec.id if spec else target, "runner": runner, "quant": quant, "target": load_target}
    try:
        if server is not None or runner in SERVER_RUNNERS:
            from vlmselect.render import console
            from vlmselect.smoke_servers import smoke_via_server

            rec = smoke_via_server(spec, load_target, runner, quant, server, png, ask, max_new_tokens, ready_timeout_s,
                                   console(stderr=True))
            rec["vram_estimated_gib"] = _estimate(spec, rec.get("quant"), rec["runner"] if rec["runner"] in SERVER_RUNNERS
                                                  else "llama.cpp", png, max_new_tokens)
        elif runner == "ollama":
            rec = _smoke_ollama(spec, load_target, png, ask, max_new_tokens, partial)
        else:
            rec = _smoke_hf(cat, spec, load_target, quant, png, ask, max_new_tokens, trust_remote_code, warn, partial)
    except RuntimeFailure as exc:
        partial.update({"passed": False, "score": None, "error": {"message": exc.message, "hint": exc.hint}})
        saved = _finish(cat, partial, hw, card, expect, ask)
        where = f"is recorded in {saved}" if saved else f"record {partial['record_error']}"
        exc.hint = f"{exc.hint or ''}; the failed run {where}".lstrip("; ")
        raise
    scored = score_card(rec["answer"], card) if card else (score_expect(rec["answer"], expect) if expect else
                                                          {"score": None, "passed": True, "text_cer": None})
    rec.update({"passed": scored["passed"], "score": scored["score"], "checks": scored})
    _finish(cat, rec, hw, card, expect, ask)
    return SmokeResult(rec)


def _finish(cat: Catalog, rec: dict[str, Any], hw: HardwareProfile | None, card: Card | None, expect: str | None,
            ask: str) -> str | None:
    """Add the machine and the run's inputs to `rec`, save it; returns where (None: not saved, and
    `record_error` says why)."""
    if hw is None or hw.source in ("preset", "manual"):  # the record is about this machine's real GPU
        from vlmselect.hardware import probe

        hw = probe(cat.gpu_by_name)
    gpus = hw.usable_gpus
    rec.update({"gpu": gpus[0].name if gpus and rec.get("device") != "cpu" else None,
                "expected": {"text": card.text, "bars": card.bars, "colour": card.colour} if card else expect,
                "prompt": ask, "version": __version__, "time": dt.datetime.now(dt.timezone.utc).isoformat(),
                "machine": {"platform": platform.platform(), "python": platform.python_version()}})
    rec["record"], rec["record_error"] = try_save(rec)
    saved: str | None = rec["record"]
    return saved


def _catalog_spec(cat: Catalog, target: str, model_id: str | None) -> ModelSpec | None:
    try:
        found = cat.model(model_id or target)
        return found if isinstance(found, ModelSpec) else None
    except UsageError:
        return None


def _estimate(spec: ModelSpec | None, quant: str | None, runner: str, png: bytes, max_new_tokens: int) -> float | None:
    """The estimator's prediction for the workload this smoke run had: one image, a short prompt."""
    from vlmselect.memory import Workload, estimate_memory
    from vlmselect.quant import QUANTS

    q = QUANTS.get(quant or "")
    if spec is None or q is None:
        return None
    width, height = _image_from_png(png).size
    w = Workload(context=64, images=1, width=width, height=height, max_new_tokens=max_new_tokens)
    return round(estimate_memory(spec, q, runner, w).total_gib, 3)


def _smoke_ollama(spec: ModelSpec | None, tag: str, png: bytes, prompt: str, max_new_tokens: int,
                  partial: dict[str, Any]) -> dict[str, Any]:
    import time

    from vlmselect.runners import ollama as rt

    rt.check_tag(tag)
    quant = None
    if spec is not None:
        quant = next((t.get("quant") for t in spec.runners.get("ollama", []) if t["tag"] == tag), None)
    partial.update({"quant": quant, "vram_estimated_gib": _estimate(spec, quant, "ollama", png, max_new_tokens)})
    start = time.perf_counter()
    try:
        res = rt.chat(tag, prompt, png, max_new_tokens)
    finally:
        partial["latency_s"] = round(time.perf_counter() - start, 3)
    vram = rt.loaded_vram_bytes(tag)
    tps = res.eval_count / res.eval_s if res.eval_count and res.eval_s else None
    return {"id": spec.id if spec else tag, "runner": "ollama", "quant": quant, "target": tag,
            "answer": res.answer, "latency_s": round(res.latency_s, 3),
            "ttft_s": round(res.ttft_s, 3) if res.ttft_s is not None else None,
            "tokens_per_s": round(tps, 2) if tps else None, "new_tokens": res.eval_count,
            "vram_peak_gib": round(vram / GIB, 3) if vram is not None else None,
            "vram_estimated_gib": _estimate(spec, quant, "ollama", png, max_new_tokens)}


def _smoke_hf(cat: Catalog, spec: ModelSpec | None, target: str, quant: str | None, png: bytes, prompt: str,
              max_new_tokens: int, trust_remote_code: bool, warn: Callable[[str], None] | None,
              partial: dict[str, Any]) -> dict[str, Any]:
    from vlmselect.runners import hf

    path = hf.resolve_local(target)
    if path is None:
        raise UsageError(f"{target} is not downloaded", _download_hint(cat, spec, target))
    needs_code = spec.trust_remote_code if spec else bool(hf.read_config(path).get("auto_map"))
    if needs_code and not trust_remote_code:
        raise UsageError(f"{spec.hf_repo if spec else target} runs its own Python code when loaded",
                         "pass --trust-remote-code if you trust that repository")
    if trust_remote_code and warn is not None:
        warn(f"--trust-remote-code: running code from {spec.hf_repo if spec else target}")
    q = (quant or "bf16").lower()
    if q not in ("bf16", "fp16", "nf4", "int8", "fp32"):
        raise UsageError(f"the hf runner takes bf16, fp16, nf4 or int8, not {quant!r}", "for example --quant nf4")
    model_class = (spec.runners.get("transformers") or {}).get("class") if spec else None
    rss_before = hf.os_rss_gib()
    est_spec = spec or spec_from_config(path, target)
    partial.update({"quant": q, "target": str(path)})
    try:
        loaded = hf.load(path, q, trust_remote_code=trust_remote_code, model_class=model_class)
        partial.update({"device": loaded.device, "dtype": loaded.dtype, "load_s": round(loaded.load_s, 3)})
        gen = hf.generate(loaded, _image_from_png(png), prompt, max_new_tokens)
    except RuntimeFailure:
        partial.update(hf.memory_now())
        partial["ram_delta_gib"] = round(hf.os_rss_gib() - rss_before, 3)
        partial["vram_estimated_gib"] = _estimate(est_spec, q if q in ("nf4", "int8") else "bf16", "transformers",
                                                  png, max_new_tokens)
        raise
    est_runner_quant = q if q in ("nf4", "int8") else ("bf16" if loaded.dtype == "bfloat16" else "fp16")
    if loaded.dtype == "float32" and q not in ("nf4", "int8"):
        q = "fp32"  # the CPU runs full precision whatever 16-bit type was asked for
    return {"id": spec.id if spec else target, "runner": "hf", "quant": q, "target": str(path),
            "device": loaded.device, "dtype": loaded.dtype, "load_s": round(loaded.load_s, 3),
            "answer": gen.answer, "latency_s": round(gen.latency_s, 3),
            "ttft_s": round(gen.ttft_s, 3) if gen.ttft_s is not None else None,
            "tokens_per_s": round(gen.tokens_per_s, 2) if gen.tokens_per_s else None, "new_tokens": gen.new_tokens,
            "vram_peak_gib": round(gen.vram_peak_gib, 3) if gen.vram_peak_gib is not None else None,
            "torch_allocated_gib": round(gen.torch_allocated_gib, 3) if gen.torch_allocated_gib is not None else None,
            "ram_delta_gib": round(hf.os_rss_gib() - rss_before, 3),
            "vram_estimated_gib": _estimate(est_spec, est_runner_quant, "transformers", png, max_new_tokens)}


def _download_hint(cat: Catalog, spec: ModelSpec | None, target: str) -> str:
    """A download step that will be accepted: `vlmselect pull` for catalog models, else the hub's own CLI."""
    import shlex

    if spec is None:  # a repo id the catalog may know under its own id
        spec = next((m for m in cat.models.values() if m.hf_repo == target), None)
    if spec is not None:
        return f"run `{shlex.join(['vlmselect', 'pull', spec.id, '--runner', 'hf'])}` first"
    from vlmselect.commands import _REPO

    if _REPO.fullmatch(target):
        return (f"it is not in the catalog, so `vlmselect pull` cannot fetch it: download it with "
                f"`{shlex.join(['hf', 'download', target])}` (huggingface_hub's CLI), then run smoke again")
    return "give a catalog id (`vlmselect models`), an HF repo id or a local directory"


def _image_from_png(png: bytes) -> Image:
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")
