"""The estimator's weights (from parameter counts, published sizes removed) against each published
artifact the tests cite. Prints the error per artifact.

    .venv/bin/python benchmarks/published_sizes.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_estimator import PUBLISHED, _unpublished  # noqa: E402  (the cited list lives with its test)

from vlmselect.catalog import gb_to_gib, load_catalog  # noqa: E402
from vlmselect.memory import weights_only_gib  # noqa: E402
from vlmselect.quant import QUANTS  # noqa: E402


# Cited artifacts the estimate misses by more than the test's 10 % bound: printed, not asserted, so the miss stays
# visible until the estimator (or the catalog's parameter split) explains it.
OUTSIDE_BOUND = [
    # Parameters 25.2B / ~0.55B vision as quoted from the card; the library blob is one GGUF with the vision tower.
    ("gemma-4-26b-a4b", "q4_k_m", "ollama", 18.0, "https://ollama.com/library/gemma4:26b-a4b-it-q4_K_M/blobs/7121486771cb"),
    # Kimi-VL 2506 (DeepSeek-V2-style MoE): 16B is the README's rounded total, and the published Q4_K_M averages
    # ~5.1 bits per weight over 16.4B, above the estimator's Q4_K_M figure; the estimate is ~12% low.
    ("kimi-vl-a3b-thinking-2506", "q4_k_m", "llama.cpp", 10.541 + 0.618,
     "https://huggingface.co/ggml-org/Kimi-VL-A3B-Thinking-2506-GGUF"),
]


def main() -> None:
    cat = load_catalog(include_user=False)
    print(f"{'model':24s} {'quant':7s} {'estimate':>9s} {'published':>10s} {'error':>7s}  source")
    for mid, q, runner, gb, source in PUBLISHED + OUTSIDE_BOUND:
        est = weights_only_gib(_unpublished(cat.models[mid]), QUANTS[q], runner)
        pub = gb_to_gib(gb)
        print(f"{mid:24s} {q:7s} {est:8.2f}G {pub:9.2f}G {100 * (est - pub) / pub:+6.1f}%  {source}")


if __name__ == "__main__":
    main()
