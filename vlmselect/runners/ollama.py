"""Ollama through its official Python client, which only `pull` and `smoke` load (inside the
functions below); `doctor` uses `ollama_host` alone."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from vlmselect.errors import RuntimeFailure, UsageError

CLIENT_TIMEOUT_S = 600.0  # per network read: pulls stream a line at least every few seconds
START_HINT = "start the server with `ollama serve` (install: https://ollama.com/download), or set OLLAMA_HOST"


def ollama_host() -> str:
    """OLLAMA_HOST as Ollama reads it: host, host:port or a URL; default 127.0.0.1:11434.

    Like Ollama's envconfig: without a scheme the port defaults to 11434; an explicit
    http:// or https:// URL without a port means 80 or 443.
    """
    raw = os.environ.get("OLLAMA_HOST", "").strip() or "127.0.0.1:11434"
    default_port = "11434"
    if "://" not in raw:
        raw = "http://" + raw
    elif raw.startswith("https://"):
        default_port = "443"
    elif raw.startswith("http://"):
        default_port = "80"
    scheme, rest = raw.split("://", 1)
    hostport = rest.split("/", 1)[0]
    if hostport.startswith("["):
        has_port = "]:" in hostport
    else:
        has_port = ":" in hostport
    if hostport.startswith(":"):
        hostport = "127.0.0.1" + hostport
    if not has_port:
        hostport += ":" + default_port
    if hostport.startswith("0.0.0.0"):
        hostport = "127.0.0.1" + hostport[len("0.0.0.0"):]
    return f"{scheme}://{hostport}"


def _client():
    import ollama

    # The client has no timeout by default: a stalled server would hang us forever.
    return ollama, ollama.Client(host=ollama_host(), timeout=CLIENT_TIMEOUT_S)


def _fail(ollama, exc: Exception, what: str) -> RuntimeFailure:
    # Non-streaming calls raise ConnectionError; streaming ones a bare httpx.ConnectError.
    if isinstance(exc, ConnectionError) or type(exc).__name__ in ("ConnectError", "ConnectTimeout"):
        return RuntimeFailure(f"cannot reach the Ollama server at {ollama_host()}", START_HINT)
    if isinstance(exc, ollama.ResponseError):
        msg = exc.error or str(exc)
        if "try pulling it first" in msg:
            return RuntimeFailure(f"Ollama: {what}: {msg}", "download it first: `vlmselect pull MODEL --runner ollama`")
        if "file does not exist" in msg or "not found" in msg:
            return RuntimeFailure(f"Ollama: {what}: {msg}", "check the tag on https://ollama.com/library")
        return RuntimeFailure(f"Ollama: {what}: {msg}", "run the same command again: Ollama resumes partial downloads")
    return RuntimeFailure(f"Ollama: {what}: {exc}", START_HINT)


@dataclass
class LayerProgress:
    digest: str
    total: int
    completed: int


def pull(tag: str, on_progress: Callable[[str, LayerProgress | None], None]) -> None:
    """Pull `tag`, calling `on_progress(status, layer)` for every line of Ollama's stream."""
    ollama, client = _client()
    try:
        stream: Iterator = client.pull(tag, stream=True)
        last = None
        for part in stream:
            status = getattr(part, "status", None) or ""
            digest = getattr(part, "digest", None)
            layer = None
            if digest:
                layer = LayerProgress(digest, int(getattr(part, "total", 0) or 0), int(getattr(part, "completed", 0) or 0))
            on_progress(status, layer)
            last = status
        if last != "success":
            raise RuntimeFailure(f"Ollama: pull of {tag} ended without success (last status: {last!r})",
                                 "run the same command again: Ollama resumes partial downloads")
    except RuntimeFailure:
        raise
    except Exception as exc:  # the client raises ConnectionError, ResponseError or httpx errors
        raise _fail(ollama, exc, f"pull {tag}") from None


@dataclass
class ChatResult:
    answer: str
    latency_s: float
    ttft_s: float | None
    eval_count: int | None
    eval_s: float | None
    prompt_tokens: int | None


def chat(tag: str, prompt: str, image_png: bytes, max_new_tokens: int) -> ChatResult:
    """One streamed chat turn with one image; measures time to first token from the stream."""
    ollama, client = _client()
    start = time.perf_counter()
    ttft = None
    pieces: list[str] = []
    final = None
    try:
        for part in client.chat(
            model=tag, stream=True, options={"temperature": 0, "num_predict": max_new_tokens},
            messages=[{"role": "user", "content": prompt, "images": [base64.b64encode(image_png).decode()]}],
        ):
            text = part.message.content or "" if part.message else ""
            if text and ttft is None:
                ttft = time.perf_counter() - start
            pieces.append(text)
            if part.done:
                final = part
    except Exception as exc:
        raise _fail(ollama, exc, f"chat with {tag}") from None
    latency = time.perf_counter() - start
    eval_count = getattr(final, "eval_count", None) if final else None
    eval_ns = getattr(final, "eval_duration", None) if final else None
    return ChatResult("".join(pieces), latency, ttft, eval_count, eval_ns / 1e9 if eval_ns else None,
                      getattr(final, "prompt_eval_count", None) if final else None)


def loaded_vram_bytes(tag: str) -> int | None:
    """`size_vram` of the loaded model from /api/ps."""
    ollama, client = _client()
    try:
        for m in client.ps().models:
            if m.model == tag or m.name == tag or (":" not in tag and m.model == tag + ":latest"):
                return int(m.size_vram) if m.size_vram is not None else None
    except Exception as exc:
        raise _fail(ollama, exc, "read /api/ps") from None
    return None


def check_tag(tag: str) -> str:
    if not tag or any(c.isspace() for c in tag) or tag.startswith("-"):
        raise UsageError(f"not an Ollama tag: {tag!r}", "tags look like llava:7b or qwen2.5vl:7b")
    return tag
