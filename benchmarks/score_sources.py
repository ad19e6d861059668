"""Benchmark scores in the shipped catalog, counted by the kind of page their `source` is.

An arXiv abstract (arxiv.org/abs/...) prints no table: a score citing one was read somewhere else (the PDF, a
converted copy), so the count of those, and of scores whose note says `unverified`, measure how much of the score
provenance still needs a look. Run it before and after a sourcing pass:

    .venv/bin/python benchmarks/score_sources.py            # table
    .venv/bin/python benchmarks/score_sources.py --json     # machine-readable
    .venv/bin/python benchmarks/score_sources.py --list arxiv_abs   # the entries of one kind
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import yaml

CATALOG = Path(__file__).resolve().parents[1] / "catalog"

# Hosts of the model makers' own pages (papers' project pages, blogs, model cards outside Hugging Face).
VENDOR_HOSTS = ("qwenlm.github.io", "qwen.ai", "internvl.github.io", "storage.googleapis.com", "deepmind.google",
                "blog.google", "ai.google.dev", "openai.com", "anthropic.com", "platform.claude.com", "mistral.ai",
                "ai.meta.com", "llama.com", "allenai.org", "moondream.ai", "z.ai", "bigmodel.cn", "paddlepaddle.org.cn",
                "microsoft.com", "nvidia.com", "ibm.com", "deepseek.com", "moonshot.ai", "huggingface.co/blog")
BOARD_HOSTS = ("opencompass", "rank.opencompass.org.cn", "lmarena.ai", "huggingface.co/spaces", "video-mme.github.io",
               "mmmu-benchmark.github.io", "paperswithcode.com")


def kind(url: str) -> str:
    """The kind of page a score's `source` is."""
    if not url:
        return "none"
    u = urlparse(url)
    host, path = u.netloc.lower(), u.path
    full = host + path
    if host.endswith("arxiv.org"):
        if path.startswith("/abs/"):
            return "arxiv_abs"
        return "arxiv_html" if path.startswith("/html/") else "arxiv_pdf"
    if any(b in full for b in BOARD_HOSTS):
        return "leaderboard"
    if host == "huggingface.co":
        return "hf_dataset" if path.startswith("/datasets/") else "model_card"
    if host in ("github.com", "raw.githubusercontent.com"):
        return "github"
    if any(full.startswith(v) or host.endswith(v) for v in VENDOR_HOSTS):
        return "vendor_page"
    return "other"


def scores(catalog_dir: Path = CATALOG):
    """(file, id, benchmark key, entry) for every scored benchmark of every model and API."""
    for f in sorted(catalog_dir.glob("*.yaml")):
        if not (f.stem.endswith("models") or f.stem.endswith("apis")):
            continue
        for e in yaml.safe_load(f.read_text(encoding="utf-8")) or []:
            for key, b in (e.get("benchmarks") or {}).items():
                if isinstance(b, dict):
                    yield f.name, e["id"], key, b


def is_unverified(b: dict) -> bool:
    return "unverified" in str(b.get("note") or "").lower()


def summary(catalog_dir: Path = CATALOG) -> dict:
    by_kind: Counter = Counter()
    unverified: Counter = Counter()
    for _, _, _, b in scores(catalog_dir):
        k = kind(str(b.get("source") or ""))
        by_kind[k] += 1
        unverified[k] += is_unverified(b)
    total = sum(by_kind.values())
    return {"total": total, "by_kind": dict(by_kind.most_common()), "unverified_by_kind": dict(unverified),
            "unverified": sum(unverified.values()),
            "arxiv_abs_unconfirmed": by_kind["arxiv_abs"] - unverified["arxiv_abs"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--list", metavar="KIND", help="print the entries whose source is of this kind")
    a = ap.parse_args(argv)
    if a.list:
        for fname, mid, key, b in scores():
            if kind(str(b.get("source") or "")) == a.list:
                print(f"{fname}\t{mid}\t{key}\t{b.get('score')}\t{b.get('source')}\t{'unverified' if is_unverified(b) else ''}")
        return 0
    s = summary()
    if a.json:
        print(json.dumps(s, indent=1))
        return 0
    print(f"{s['total']} scores")
    for k, n in s["by_kind"].items():
        print(f"  {k:12s} {n:5d}   ({s['unverified_by_kind'].get(k, 0)} with an 'unverified' note)")
    print(f"arXiv abstract cited, number not confirmed in a printed table: {s['arxiv_abs_unconfirmed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
