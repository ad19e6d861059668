"""Draw a seeded, stratified random sample of catalog facts for an audit against their sources.

Strata are (file, kind): every catalog file that holds models, APIs or GPUs, crossed with the
kind of fact (architecture number, parameter count, artifact size, licence, release date,
context length, image-token rule parameter, price, GPU spec, benchmark score). Each stratum
that has facts gets `--per-stratum` of them (all when it has fewer); GPU specs, the only kind
in gpus.yaml, get `--gpu` so the file weighs like the others. Each sampled fact is printed with
the source the catalog cites for it, so a reader can check it by hand.

    python scripts/audit_sample.py                # seed 20261130, 2 per stratum, 8 GPU specs, 84 in all
    python scripts/audit_sample.py --seed 7 --per-stratum 3 --markdown

Reads the YAML directly (yaml.safe_load), not through vlmselect, so an audit does not depend
on the loader it is auditing.
"""

from __future__ import annotations

import argparse
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CATALOG = Path(__file__).resolve().parent.parent / "catalog"
FILES = ("models.yaml", "2026-models.yaml", "2026-docs-models.yaml", "apis.yaml", "2026-apis.yaml", "gpus.yaml")
ARCH_KEYS = ("layers", "hidden", "heads", "kv_heads", "head_dim", "vocab", "tied_embeddings")
PARAM_KEYS = ("total_b", "text_b", "vision_b", "projector_b", "active_b")
GPU_KEYS = ("vram_gb", "bandwidth_gbps", "compute_capability", "fp16_tflops", "fp16_tflops_fp32acc", "tdp_w", "bf16")
PRICE_KEYS = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "batch_input_per_mtok",
              "batch_output_per_mtok", "priority_input_per_mtok", "priority_output_per_mtok")


@dataclass(frozen=True)
class Fact:
    file: str
    kind: str
    entry: str
    field: str
    value: Any
    source: str


def _model_sources(m: dict[str, Any]) -> str:
    srcs = list(m.get("sources") or [])
    if m.get("hf_repo"):
        srcs.insert(0, f"https://huggingface.co/{m['hf_repo']}")
    return " ; ".join(dict.fromkeys(str(s) for s in srcs)) or "(none cited)"


def _model_facts(fname: str, m: dict[str, Any]) -> Iterator[Fact]:
    mid, general = m["id"], _model_sources(m)
    for k in ARCH_KEYS:
        if k in (m.get("arch") or {}):
            yield Fact(fname, "architecture", mid, f"arch.{k}", m["arch"][k], general)
    for k in PARAM_KEYS:
        if k in (m.get("params") or {}):
            yield Fact(fname, "parameters", mid, f"params.{k}", m["params"][k], general)
    runners = m.get("runners") or {}
    for tag in runners.get("ollama") or []:
        src = tag.get("source", general)
        if "size_gb" in tag:
            yield Fact(fname, "artifact", mid, f"ollama[{tag['tag']}].size_gb", tag["size_gb"], src)
        if "quant" in tag:
            yield Fact(fname, "artifact", mid, f"ollama[{tag['tag']}].quant", tag["quant"], src)
    gguf = runners.get("gguf") or {}
    gsrc = gguf.get("source", f"https://huggingface.co/{gguf.get('repo')}")
    for q, f in (gguf.get("files") or {}).items():
        if isinstance(f, dict) and "size_gb" in f:
            yield Fact(fname, "artifact", mid, f"gguf.files.{q}.size_gb ({f.get('file')})", f["size_gb"], gsrc)
    mm = gguf.get("mmproj") or {}
    for k in ("size_gb", "precision"):
        if k in mm:
            yield Fact(fname, "artifact", mid, f"gguf.mmproj.{k} ({mm.get('file')})", mm[k], gsrc)
    for rname in ("transformers", "awq", "gptq", "fp8"):
        r = runners.get(rname)
        if isinstance(r, dict) and "size_gb" in r:
            src = r.get("source") or (f"https://huggingface.co/{r['repo']}" if r.get("repo") else general)
            yield Fact(fname, "artifact", mid, f"runners.{rname}.size_gb", r["size_gb"], src)
    for k in ("license", "commercial"):
        if k in m:
            yield Fact(fname, "licence", mid, k, m[k], general)
    if "released" in m:
        yield Fact(fname, "release date", mid, "released", str(m["released"]), general)
    if "context_max" in m:
        yield Fact(fname, "context length", mid, "context_max", m["context_max"], general)
    yield from _image_token_facts(fname, m, general)
    yield from _score_facts(fname, m)


def _image_token_facts(fname: str, m: dict[str, Any], general: str) -> Iterator[Fact]:
    it = m.get("image_tokens") or {}
    for k, v in it.items():
        if k in ("rule", "video") or isinstance(v, (dict, list)):
            continue
        yield Fact(fname, "image tokens", m["id"], f"image_tokens.{k} (rule {it.get('rule')})", v, general)


def _score_facts(fname: str, m: dict[str, Any]) -> Iterator[Fact]:
    for bench, b in (m.get("benchmarks") or {}).items():
        if isinstance(b, dict) and "score" in b:
            yield Fact(fname, "benchmark", m["id"], f"benchmarks.{bench}", b["score"], b.get("source", "(none)"))


def _api_facts(fname: str, a: dict[str, Any]) -> Iterator[Fact]:
    general = " ; ".join(str(s) for s in a.get("sources") or []) or "(none cited)"
    price = a.get("price") or {}
    psrc = str(price.get("source", general)) + (f" (read via {price['read_via']})" if price.get("read_via") else "")
    for k in PRICE_KEYS:
        if k in price:
            src = price.get("priority_source", psrc) if k.startswith("priority") else psrc
            yield Fact(fname, "price", a["id"], f"price.{k}", price[k], src)
    if "released" in a:
        yield Fact(fname, "release date", a["id"], "released", str(a["released"]), general)
    if "context_max" in a:
        yield Fact(fname, "context length", a["id"], "context_max", a["context_max"], general)
    yield from _image_token_facts(fname, a, general)
    yield from _score_facts(fname, a)


def _gpu_facts(fname: str, g: dict[str, Any]) -> Iterator[Fact]:
    src = str(g.get("source", "(none)")) + (f" (read via {g['read_via']})" if g.get("read_via") else "")
    for k in GPU_KEYS:
        if k in g:
            yield Fact(fname, "gpu spec", g["id"], k, g[k], src)


def all_facts(catalog: Path = CATALOG) -> list[Fact]:
    facts: list[Fact] = []
    for fname in FILES:
        entries = yaml.safe_load((catalog / fname).read_text(encoding="utf-8")) or []
        for e in entries:
            if fname.endswith("gpus.yaml"):
                facts.extend(_gpu_facts(fname, e))
            elif fname.endswith("apis.yaml"):
                facts.extend(_api_facts(fname, e))
            else:
                facts.extend(_model_facts(fname, e))
    return facts


def sample(facts: list[Fact], seed: int, per_stratum: int, gpu: int, total: int) -> list[Fact]:
    """`per_stratum` from each (file, kind) stratum, `gpu` from the GPU one, then a top-up to `total`
    drawn uniformly from the facts not yet picked (so the large strata weigh more in the top-up)."""
    strata: dict[tuple[str, str], list[Fact]] = defaultdict(list)
    for f in facts:
        strata[(f.file, f.kind)].append(f)
    rng = random.Random(seed)
    out: list[Fact] = []
    for key in sorted(strata, key=lambda k: (FILES.index(k[0]), k[1])):
        pool = strata[key]
        n = gpu if key[1] == "gpu spec" else per_stratum
        out.extend(rng.sample(pool, min(n, len(pool))))
    picked = set(out)
    rest = [f for f in facts if f not in picked]
    out.extend(rng.sample(rest, max(0, min(total - len(out), len(rest)))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--per-stratum", type=int, default=2)
    ap.add_argument("--gpu", type=int, default=8, help="facts drawn from gpus.yaml (one kind there)")
    ap.add_argument("--total", type=int, default=84, help="top up at random to this many facts")
    ap.add_argument("--markdown", action="store_true", help="print a table to fill in")
    args = ap.parse_args()
    facts = all_facts()
    picked = sample(facts, args.seed, args.per_stratum, args.gpu, args.total)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for f in facts:
        counts[(f.file, f.kind)] += 1
    print(f"seed {args.seed}; {len(picked)} facts drawn from {len(facts)} in {len(counts)} strata")
    if args.markdown:
        print("| # | file | kind | entry | field | catalog value | cited source |")
        print("|---|---|---|---|---|---|---|")
    for i, f in enumerate(picked, 1):
        if args.markdown:
            print(f"| {i} | {f.file} | {f.kind} | {f.entry} | {f.field} | {f.value} | {f.source} |")
        else:
            print(f"{i:3d}. [{f.file} / {f.kind}] {f.entry} {f.field} = {f.value!r}\n      source: {f.source}")


if __name__ == "__main__":
    main()
