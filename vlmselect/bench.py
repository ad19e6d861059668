"""`vlmselect bench`: drive an OpenAI-compatible server with the test card at rising concurrency.

Any server that speaks `/v1/chat/completions` with images (vLLM, llama-server, Ollama's /v1) works.
Each level sends `requests` requests with `concurrency` in flight (a thread each: the work is I/O),
streams the answers to time the first token, scores them with the smoke card, and reports images/s,
output tokens/s and latency percentiles. The record is saved, and `plan` prefers it to its estimate.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlmselect.errors import RuntimeFailure, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    Scorer = Callable[[str], dict[str, Any]]  # an answer -> its score (card.score_card), with "passed"


@dataclass
class Reply:
    ok: bool
    latency_s: float
    ttft_s: float | None = None
    tokens: int = 0
    passed: bool = False
    error: str = ""


@dataclass
class Level:
    concurrency: int
    requests: int
    ok: int
    wall_s: float
    images_per_s: float
    tokens_per_s: float
    latency_p50_s: float | None
    latency_p90_s: float | None
    latency_p99_s: float | None
    ttft_p50_s: float | None
    passed: int
    errors: list[str] = field(default_factory=list)


@dataclass
class BenchResult:
    server: str
    model: str
    levels: list[Level]
    when: str
    gpu: str | None = None
    catalog_id: str | None = None
    record: str | None = None
    record_error: str | None = None  # why `record` is None after a run that was to be saved

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, round(q * (len(v) - 1))))
    return round(v[k], 4)


def one_request(base: str, model: str, png: bytes, prompt: str, max_tokens: int, score: Scorer) -> Reply:
    """One streamed request through the runners' OpenAI-compatible client; a failure is a failed Reply."""
    from vlmselect.runners.openai_compat import chat

    start = time.perf_counter()
    try:
        r = chat(base, model, prompt, png, max_tokens)
    except RuntimeFailure as exc:
        return Reply(False, time.perf_counter() - start, error=exc.message[:200])
    return Reply(True, r.latency_s, r.ttft_s, r.completion_tokens or 0, bool(score(r.answer)["passed"]))


def run_level(base: str, model: str, png: bytes, prompt: str, max_tokens: int, concurrency: int,
              requests: int, score: Scorer) -> Level:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        replies = list(pool.map(lambda _: one_request(base, model, png, prompt, max_tokens, score),
                                range(requests)))
    wall = time.perf_counter() - start
    good = [r for r in replies if r.ok]
    lat = [r.latency_s for r in good]
    return Level(concurrency, requests, len(good), round(wall, 3), round(len(good) / wall, 4),
                 round(sum(r.tokens for r in good) / wall, 2), percentile(lat, 0.5), percentile(lat, 0.9),
                 percentile(lat, 0.99), percentile([r.ttft_s for r in good if r.ttft_s is not None], 0.5),
                 sum(r.passed for r in good), sorted({r.error for r in replies if not r.ok})[:5])


def bench(server: str, model: str | None, levels: list[int], requests: int | None, max_tokens: int,
          gpu: str | None = None, catalog_id: str | None = None, save: bool = True) -> BenchResult:
    from vlmselect.runners.openai_compat import check_url, served_model
    from vlmselect.smoke import CARD_PROMPT, make_card, score_card

    if not levels or any(c < 1 or c > 4096 for c in levels):
        raise UsageError("--concurrency takes numbers from 1 to 4096", "for example --concurrency 1,4,16")
    base = check_url(server)
    card = make_card()
    name = model or served_model(base)
    out = [run_level(base, name, card.png, CARD_PROMPT, max_tokens, c, requests or max(2 * c, 4),
                     lambda a: score_card(a, card)) for c in levels]
    if all(lv.ok == 0 for lv in out):
        raise RuntimeFailure(f"every request to {base} failed: {'; '.join(out[0].errors)}",
                             "start the server first, check the model name (--model) and that it takes images")
    res = BenchResult(base, name, out, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), gpu, catalog_id)
    if save:
        from vlmselect.smoke import try_save

        res.record, res.record_error = try_save(res.to_json(), kind="bench", name=res.model)
    return res


def bench_dir() -> Path:
    from vlmselect.smoke import data_dir

    return data_dir() / "bench"


def measured_rate(model_ids: set[str], gpu: str | None, concurrency: int) -> tuple[float, dict[str, Any]] | None:
    """The newest recorded bench of one of `model_ids` on `gpu`: (images/hour at the highest concurrency
    measured up to `concurrency`, the record), or None."""
    d = bench_dir()
    if not gpu or not d.is_dir():
        return None
    from vlmselect.smoke import load_record, positive

    best: tuple[float, dict[str, Any]] | None = None
    for f in sorted(d.glob("*.json")):
        rec = load_record(f)  # None for a file that is not a record: skipped, like one of another GPU
        names = {v for v in (rec.get("catalog_id"), rec.get("model")) if isinstance(v, str)} if rec else set()
        if rec is None or rec.get("gpu") != gpu or not names & model_ids:
            continue
        levels = rec.get("levels")
        ok = [lv for lv in (levels if isinstance(levels, list) else []) if isinstance(lv, dict) and lv.get("ok")
              and positive(lv.get("concurrency")) and lv["concurrency"] <= concurrency and positive(lv.get("images_per_s"))]
        if ok:
            top = max(ok, key=lambda lv: lv["concurrency"])
            best = (top["images_per_s"] * 3600, rec)
    return best
