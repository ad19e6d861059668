"""A client for OpenAI-compatible servers (llama-server, vLLM, or any `--server URL`), with the
standard library only: readiness, the served model's name, and one streamed chat with an image.

Streaming is what lets us measure time to first token; `stream_options.include_usage` asks the
server for its own token counts in the last chunk (llama-server and vLLM both send them).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vlmselect.errors import RuntimeFailure, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

READ_TIMEOUT_S = 600.0


def check_url(url: str) -> str:
    """An http(s) base URL without a trailing slash or /v1 (both are accepted on input)."""
    u = url.strip().rstrip("/")
    if not u.startswith(("http://", "https://")) or any(c.isspace() for c in u):
        raise UsageError(f"not a server URL: {url!r}", "for example --server http://127.0.0.1:8080")
    return u[:-3] if u.endswith("/v1") else u


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http(s) only: check_url)
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def is_ready(base: str, timeout: float = 2.0) -> bool:
    """llama-server answers /health with 200 once the model is loaded (503 while loading); vLLM has
    /health too; other servers at least list their models."""
    for path in ("/health", "/v1/models"):
        try:
            status, _ = _get(base + path, timeout)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        if status == 200:
            return True
        if status != 404:
            return False
    return False


def wait_ready(base: str, timeout_s: float, alive: Callable[[], bool] = lambda: True, what: str = "the server") -> float:
    """Poll until ready; seconds it took. `alive()` False (the process died) stops the wait early."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if is_ready(base):
            return time.perf_counter() - start
        if not alive():
            raise RuntimeFailure(f"{what} exited before it was ready", "its log is quoted above; check the model files")
        time.sleep(0.25)
    raise RuntimeFailure(f"{what} was not ready at {base} after {timeout_s:.0f} s",
                         "a larger model needs longer: pass --ready-timeout, or check the server's log")


def served_model(base: str) -> str:
    """The first model id the server lists (what `model` must name in requests)."""
    try:
        status, body = _get(base + "/v1/models", 10.0)
        data = json.loads(body) if status == 200 else {}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RuntimeFailure(f"cannot reach {base}: {getattr(exc, 'reason', exc)}",
                             "check the URL and that the server is running") from None
    models = [m.get("id") for m in data.get("data") or [] if isinstance(m, dict) and m.get("id")]
    if not models:
        raise RuntimeFailure(f"{base}/v1/models lists no model", "is it an OpenAI-compatible server?")
    return str(models[0])


@dataclass
class ChatResult:
    answer: str
    latency_s: float
    ttft_s: float | None
    completion_tokens: int | None
    prompt_tokens: int | None
    tokens_per_s: float | None
    server_timings: dict[str, Any] | None  # llama-server's own `timings` block, when it sends one


def chat(base: str, model: str, prompt: str, image_png: bytes, max_tokens: int) -> ChatResult:
    """One streamed chat turn with one image (a base64 data URL), greedy."""
    image_url = "data:image/png;base64," + base64.b64encode(image_png).decode()
    body = {
        "model": model, "stream": True, "stream_options": {"include_usage": True},
        "max_tokens": max_tokens, "temperature": 0,
        "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": image_url}},
            {"type": "text", "text": prompt}]}],
    }
    req = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Accept": "text/event-stream"})
    pieces: list[str] = []
    usage: dict[str, Any] = {}
    timings = None
    ttft = None
    chunks = 0
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=READ_TIMEOUT_S) as resp:  # noqa: S310
            for raw in resp:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    event = json.loads(data)
                except ValueError:
                    continue
                if event.get("error"):
                    raise RuntimeFailure(f"{base}: {event['error']}", "check the server's log")
                for choice in event.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content") or ""
                    if text:
                        chunks += 1
                        if ttft is None:
                            ttft = time.perf_counter() - start
                        pieces.append(text)
                usage = event.get("usage") or usage
                timings = event.get("timings") or timings
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        raise RuntimeFailure(f"{base} answered {exc.code}: {detail}",
                             "a text-only model (no --mmproj / no vision) rejects images") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RuntimeFailure(f"cannot reach {base}: {getattr(exc, 'reason', exc)}",
                             "check the URL and that the server is running") from None
    latency = time.perf_counter() - start
    n = usage.get("completion_tokens") or chunks or None
    decode_s = latency - (ttft or 0.0)
    tps = (n - 1) / decode_s if n and n > 1 and decode_s > 0 else None
    return ChatResult("".join(pieces), latency, ttft, n, usage.get("prompt_tokens"), tps, timings)
