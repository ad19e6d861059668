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
from dataclasses import dataclass, field
from pathlib import Path

from vlmselect import __version__
from vlmselect.catalog import Arch, Catalog, ModelSpec
from vlmselect.errors import UsageError

CARD_TEXT = ["INVOICE 4711", "Date 2026-03-14", "Widgets 3 x 12.50", "Total 1234.50"]
CARD_BARS = {"A": 3, "B": 7, "C": 5}
CARD_COLOUR = "red"
CARD_PROMPT = ("Read this card. Write out every line of text in the box exactly, then give the value of "
               "each bar (A, B, C) as 'A=..., B=..., C=...', then name the colour of the circle.")
MAX_CER = 0.25  # text lines must match to within 25 % character error rate


@dataclass
class Card:
    png: bytes
    text: list = field(default_factory=lambda: list(CARD_TEXT))
    bars: dict = field(default_factory=lambda: dict(CARD_BARS))
    colour: str = CARD_COLOUR


def make_card(width: int = 768, height: int = 512) -> Card:
    """Draw the test card with Pillow: text block, bar chart with values, a red circle."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=28)
        small = ImageFont.load_default(size=22)
    except TypeError:  # Pillow < 10.1: the bitmap font only
        font = small = ImageFont.load_default()
    d.rectangle([20, 20, 400, 240], outline="black", width=2)
    for i, line in enumerate(CARD_TEXT):
        d.text((36, 34 + i * 50), line, fill="black", font=font)
    base, left, bw = 470, 60, 70
    d.line([40, base, 400, base], fill="black", width=2)
    for i, (label, value) in enumerate(CARD_BARS.items()):
        x = left + i * 110
        d.rectangle([x, base - value * 25, x + bw, base], fill=(60, 90, 200))
        d.text((x + 24, base - value * 25 - 30), str(value), fill="black", font=small)
        d.text((x + 26, base + 6), label, fill="black", font=small)
    d.ellipse([520, 180, 700, 360], fill=(220, 30, 30))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return Card(buf.getvalue())


# ---------------------------------------------------------------- scoring


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.lower()).strip()


def line_cer(expected: str, answer: str) -> float:
    """Character error rate of `expected` against its best-matching span of `answer`."""
    e, a = _norm(expected), _norm(answer)
    if not e:
        return 0.0
    if e in a:
        return 0.0
    best = 1.0
    n = len(e)
    for start in range(0, max(len(a) - n // 2, 1)):
        for size in (n - 2, n, n + 2):
            window = a[start:start + max(size, 1)]
            if not window:
                continue
            best = min(best, _edit(e, window) / n)
    return min(best, 1.0)


def _edit(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def score_card(answer: str, card: Card) -> dict:
    cers = [line_cer(line, answer) for line in card.text]
    cer = sum(cers) / len(cers)
    a = answer.lower()
    bars = {k: bool(re.search(rf"\b{k.lower()}\s*[:=\-]?\s*{v}\b", a)) for k, v in card.bars.items()}
    colour = re.search(rf"\b{card.colour}\b", a) is not None
    chart = sum(bars.values()) / len(bars)
    score = 0.6 * (1 - cer) + 0.3 * chart + 0.1 * colour
    passed = cer <= MAX_CER and chart >= 2 / 3 and colour
    return {"score": round(score, 3), "passed": passed, "text_cer": round(cer, 3), "line_cer": [round(c, 3) for c in cers],
            "bars_ok": bars, "colour_ok": colour}


def score_expect(answer: str, expect: str) -> dict:
    cer = line_cer(expect, answer)
    return {"score": round(1 - cer, 3), "passed": cer <= MAX_CER, "text_cer": round(cer, 3)}


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


RUNNER_NAMES = {"hf": "transformers", "ollama": "ollama", "llama.cpp": "llama.cpp", "vllm": "vllm"}
SMOKE_RUNNERS = (None, "ollama", "hf", "transformers", "llama.cpp", "vllm")
SERVER_RUNNERS = ("llama.cpp", "vllm")


def measured_speeds(gpu_name: str | None) -> dict:
    """Passed smoke records on this GPU: (model id, runner, quant) -> the newest record.

    Cheap (JSON files only), so `recommend` can use measured numbers where it has them.
    """
    d = data_dir() / "smoke"
    if not gpu_name or not d.is_dir():
        return {}
    out: dict = {}
    for f in sorted(d.glob("*.json")):  # names start with a UTC timestamp: newest last
        try:
            rec = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if rec.get("passed") and rec.get("gpu") == gpu_name and rec.get("tokens_per_s") and rec.get("quant"):
            out[(rec["id"], RUNNER_NAMES.get(rec.get("runner"), rec.get("runner")), rec["quant"])] = rec
    return out


def data_dir() -> Path:
    from vlmselect.paths import user_dir

    return user_dir("data")


def save_record(rec: dict) -> Path:
    d = data_dir() / "smoke"
    d.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", rec["id"])[-80:]
    path = d / f"{stamp}-{safe}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)  # atomic: an interrupted run never leaves half a record
    return path


# ---------------------------------------------------------------- the smoke test


def _resolve(cat: Catalog, target: str, runner: str | None, model_id: str | None = None, quant: str | None = None):
    """(catalog spec or None, runner, what to load). `model_id` names the catalog entry of a
    target that is an artifact of it (`pull --smoke` passes the tag or directory it fetched)."""
    from vlmselect.runners.hf import resolve_local

    if runner == "llamacpp":
        runner = "llama.cpp"
    if runner not in SMOKE_RUNNERS:
        raise UsageError(f"unknown runner {runner!r} for smoke", "--runner ollama, hf, llama.cpp or vllm")
    if model_id is not None:
        return cat.model(model_id), ("hf" if runner in ("hf", "transformers") else runner), target
    spec = None
    try:
        spec = cat.model(target)
    except UsageError:
        pass
    if spec is not None and spec.kind == "api":
        raise UsageError(f"{spec.id} is a hosted API", "smoke tests local models")
    runner = "hf" if runner == "transformers" else runner
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


def smoke_model(cat: Catalog, target: str, *, runner: str | None = None, quant: str | None = None,
                image: Path | None = None, prompt: str | None = None, expect: str | None = None,
                trust_remote_code: bool = False, max_new_tokens: int = 128, json_out: bool = False, hw=None,
                model_id: str | None = None, server: str | None = None, ready_timeout_s: float | None = None) -> dict:
    from vlmselect.render import console, print_json

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
        png = Path(image).read_bytes()
        ask = prompt
    else:
        card = make_card()
        png = card.png
        ask = prompt or CARD_PROMPT
    c = console(stderr=True)
    if server is not None or runner in SERVER_RUNNERS:
        from vlmselect.smoke_servers import smoke_via_server

        rec = smoke_via_server(spec, load_target, runner, quant, server, png, ask, max_new_tokens, ready_timeout_s, c)
        rec["vram_estimated_gib"] = _estimate(spec, rec.get("quant"), rec["runner"] if rec["runner"] in SERVER_RUNNERS
                                              else "llama.cpp", png, max_new_tokens)
    elif runner == "ollama":
        rec = _smoke_ollama(spec, load_target, png, ask, max_new_tokens)
    else:
        rec = _smoke_hf(cat, spec, load_target, quant, png, ask, max_new_tokens, trust_remote_code, c)
    scored = score_card(rec["answer"], card) if card else (score_expect(rec["answer"], expect) if expect else
                                                          {"score": None, "passed": True, "text_cer": None})
    if hw is None or hw.source in ("preset", "manual"):  # the record is about this machine's real GPU
        from vlmselect.hardware import probe

        hw = probe(cat.gpu_by_name)
    gpus = hw.usable_gpus
    rec.update({"passed": scored["passed"], "score": scored["score"], "checks": scored,
                "gpu": gpus[0].name if gpus and rec.get("device") != "cpu" else None,
                "expected": {"text": card.text, "bars": card.bars, "colour": card.colour} if card else expect,
                "prompt": ask, "version": __version__, "time": dt.datetime.now(dt.timezone.utc).isoformat(),
                "machine": {"platform": platform.platform(), "python": platform.python_version()}})
    rec["record"] = str(save_record(rec))
    if json_out:
        print_json(rec)
    else:
        _print(rec)
    return rec


def _catalog_spec(cat: Catalog, target: str, model_id: str | None) -> ModelSpec | None:
    try:
        return cat.model(model_id or target)
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


def _smoke_ollama(spec, tag: str, png: bytes, prompt: str, max_new_tokens: int) -> dict:
    from vlmselect.runners import ollama as rt

    rt.check_tag(tag)
    res = rt.chat(tag, prompt, png, max_new_tokens)
    vram = rt.loaded_vram_bytes(tag)
    quant = None
    if spec is not None:
        quant = next((t.get("quant") for t in spec.runners.get("ollama", []) if t["tag"] == tag), None)
    tps = res.eval_count / res.eval_s if res.eval_count and res.eval_s else None
    return {"id": spec.id if spec else tag, "runner": "ollama", "quant": quant, "target": tag,
            "answer": res.answer, "latency_s": round(res.latency_s, 3),
            "ttft_s": round(res.ttft_s, 3) if res.ttft_s is not None else None,
            "tokens_per_s": round(tps, 2) if tps else None, "new_tokens": res.eval_count,
            "vram_peak_gib": round(vram / 2**30, 3) if vram is not None else None,
            "vram_estimated_gib": _estimate(spec, quant, "ollama", png, max_new_tokens)}


def _smoke_hf(cat, spec, target: str, quant: str | None, png: bytes, prompt: str, max_new_tokens: int,
              trust_remote_code: bool, c) -> dict:
    from vlmselect.runners import hf

    path = hf.resolve_local(target)
    if path is None:
        raise UsageError(f"{target} is not downloaded", _download_hint(cat, spec, target))
    needs_code = spec.trust_remote_code if spec else bool(hf.read_config(path).get("auto_map"))
    if needs_code and not trust_remote_code:
        raise UsageError(f"{spec.hf_repo if spec else target} runs its own Python code when loaded",
                         "pass --trust-remote-code if you trust that repository")
    if trust_remote_code:
        c.print(f"[yellow]warning:[/yellow] --trust-remote-code: running code from {spec.hf_repo if spec else target}")
    q = (quant or "bf16").lower()
    if q not in ("bf16", "fp16", "nf4", "int8", "fp32"):
        raise UsageError(f"the hf runner takes bf16, fp16, nf4 or int8, not {quant!r}", "for example --quant nf4")
    model_class = (spec.runners.get("transformers") or {}).get("class") if spec else None
    rss_before = hf.os_rss_gib()
    loaded = hf.load(path, q, trust_remote_code=trust_remote_code, model_class=model_class)
    card_image = _image_from_png(png)
    gen = hf.generate(loaded, card_image, prompt, max_new_tokens)
    est_spec = spec or spec_from_config(path, target)
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


def _download_hint(cat, spec, target: str) -> str:
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


def _image_from_png(png: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")


def _print(rec: dict) -> None:
    from vlmselect.render import console

    c = console()
    verdict = "[green]PASSED[/green]" if rec["passed"] else "[red]FAILED[/red]"
    c.print(f"{verdict} {rec['id']} via {rec['runner']} ({rec.get('quant') or '?'}) — score {rec['score']}")
    c.print(f"  answer: {rec['answer'][:300]!r}")
    ch = rec.get("checks") or {}
    if ch.get("text_cer") is not None:
        c.print(f"  text CER {ch['text_cer']}" + (f", bars {ch.get('bars_ok')}, colour {ch.get('colour_ok')}" if "bars_ok" in ch else ""))
    c.print(f"  latency {rec['latency_s']} s, first token {rec['ttft_s']} s, {rec['tokens_per_s']} tok/s")
    c.print(f"  memory: measured {rec['vram_peak_gib']} GiB VRAM, estimated {rec['vram_estimated_gib']} GiB"
            + (f" (CPU run: RAM grew {rec['ram_delta_gib']} GiB)" if rec.get("ram_delta_gib") is not None else ""))
    mem = rec.get("server_memory") or {}
    if any(v is not None for k, v in mem.items() if k.endswith(("_mib", "_tokens", "_gib"))):
        shown = ", ".join(f"{k} {v}" for k, v in mem.items() if v is not None and k.endswith(("_mib", "_tokens", "_gib")))
        c.print(f"  {rec['runner']} reports: {shown}" + (f" (version {rec['server_version']})" if rec.get("server_version") else ""))
    c.print(f"  saved {rec['record']}")

