"""Ollama through its official Python client, which only `pull` and `smoke` load (inside the
functions below); `doctor` uses `ollama_host` alone."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vlmselect.errors import RuntimeFailure, UsageError

if TYPE_CHECKING:
    from types import ModuleType

    from ollama import Client, ProgressResponse

CLIENT_TIMEOUT_S = 600.0  # per network read: pulls stream a line at least every few seconds
START_HINT = "start the server with `ollama serve` (install: https://ollama.com/download), or set OLLAMA_HOST"


def ollama_host(raw: str | None = None) -> str:
    """OLLAMA_HOST resolved as the Ollama Python client resolves it (ollama/_client.py `_parse_host`,
    0.4-0.6): without a scheme, http and port 11434; `http://` / `https://` without a port mean
    80 / 443; an empty host is 127.0.0.1; a path prefix is kept (without its slashes); IPv6 in
    brackets. Credentials (`user:pass@`) are not part of the result: the client drops them too."""
    import ipaddress
    import urllib.parse

    value = os.environ.get("OLLAMA_HOST") if raw is None else raw
    value = value or ""
    scheme, sep, hostport = value.partition("://")
    port = 11434
    if not sep:
        scheme, hostport = "http", value
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    try:
        split = urllib.parse.urlsplit(f"{scheme}://{hostport}")
        host = split.hostname or "127.0.0.1"
        port = split.port or port
    except ValueError:  # a port that is not a number, an unclosed [IPv6: the client fails too; say it clearly
        raise UsageError(f"OLLAMA_HOST is not a valid host[:port]: {redact(value)!r}",
                         "set it as host:port, e.g. OLLAMA_HOST=127.0.0.1:11434") from None
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    path = split.path.strip("/")
    return f"{scheme}://{host}:{port}/{path}" if path else f"{scheme}://{host}:{port}"


def redact(url: str) -> str:
    """`url` with any password (and token-like user) replaced by ***, for printing."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    auth, at, tail = rest.partition("@")
    if not at or "/" in auth:
        return url
    user = auth.split(":", 1)[0]
    masked = f"{user}:***" if ":" in auth else "***"
    return f"{scheme}{sep}{masked}@{tail}"


def host_has_credentials() -> bool:
    raw = os.environ.get("OLLAMA_HOST") or ""
    return redact(raw) != raw


# What httpx reads from the environment as it builds a client (trust_env): proxies and certificates.
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_CERT_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def _client() -> tuple[ModuleType, Client]:
    host = ollama_host()  # first: a bad OLLAMA_HOST is the user's to fix (exit 2 with a hint)
    try:
        # Importing the package builds its default client from OLLAMA_HOST (ollama/__init__.py).
        import ollama

        # The client has no timeout by default: a stalled server would hang us forever.
        return ollama, ollama.Client(host=host, timeout=CLIENT_TIMEOUT_S)
    except ModuleNotFoundError as exc:
        if exc.name in ("ollama", "httpx"):
            raise
        raise _setup_error(exc) from None  # e.g. a SOCKS proxy without socksio
    except (ValueError, ImportError, OSError) as exc:
        raise _setup_error(exc) from None
    except Exception as exc:
        if type(exc).__name__ != "InvalidURL":  # httpx's, for a proxy URL it cannot parse
            raise
        raise _setup_error(exc) from None


def _setup_error(exc: Exception) -> UsageError:
    """The client could not be built from this environment: OLLAMA_HOST, or (once one is set) a
    proxy or certificate variable that httpx reads. Values are shown with any password masked."""
    import re

    text = re.sub(r"(://[^:/@\s]+):[^@\s]+@", r"\1:***@", str(exc))
    # A file that cannot be read is a certificate setting; a URL, a scheme or a missing package a proxy's.
    set_vars = [v for v in (_CERT_ENV if isinstance(exc, OSError) else _PROXY_ENV) if os.environ.get(v)]
    if not set_vars:
        return UsageError(f"the Ollama client cannot use OLLAMA_HOST={redact(os.environ.get('OLLAMA_HOST', ''))!r}: {text}",
                          "set it as host:port, e.g. OLLAMA_HOST=127.0.0.1:11434")
    shown = ", ".join(f"{v}={redact(os.environ[v])!r}" for v in set_vars)
    return UsageError(f"the Ollama client cannot start with {shown}: {type(exc).__name__}: {text}",
                      "fix or unset them: a proxy is scheme://host:port (a SOCKS one needs `pip install 'httpx[socks]'`), "
                      "SSL_CERT_FILE names a certificate file; a local server needs no proxy (NO_PROXY=127.0.0.1,localhost)")


RESUME_HINT = "run the same command again: Ollama keeps the finished layers and resumes the download"
OOM_HINT = ("pick a smaller tag or quant (see `vlmselect estimate MODEL`), fewer or smaller images, or free "
            "memory: `ollama ps` lists loaded models, `ollama stop MODEL` unloads one")
# httpx's exception classes for a connection that broke or stalled after it was made.
_BROKEN = {"ReadError", "ReadTimeout", "WriteError", "WriteTimeout", "RemoteProtocolError", "PoolTimeout",
           "NetworkError", "TimeoutException", "ProtocolError", "TransportError"}


def _fail(ollama: ModuleType, exc: Exception, what: str) -> RuntimeFailure:
    names = {c.__name__ for c in type(exc).__mro__}
    host = ollama_host()
    # Non-streaming calls raise ConnectionError; streaming ones a bare httpx.ConnectError.
    if isinstance(exc, ConnectionError) or names & {"ConnectError", "ConnectTimeout"}:
        return RuntimeFailure(f"cannot reach the Ollama server at {host}", START_HINT)
    if names & _BROKEN:
        hint = RESUME_HINT if what.startswith("pull") else "check that the server is still running (`ollama ps`), then retry"
        return RuntimeFailure(f"Ollama: {what}: the connection to {host} broke off ({type(exc).__name__})", hint)
    if isinstance(exc, ollama.ResponseError):
        msg = exc.error or str(exc)
        low = msg.lower()
        if "try pulling it first" in low:
            return RuntimeFailure(f"Ollama: {what}: {msg}", "download it first: `vlmselect pull MODEL --runner ollama`")
        if "out of memory" in low or "more system memory" in low or "cudamalloc" in low or "insufficient memory" in low:
            return RuntimeFailure(f"Ollama: {what}: out of memory ({msg})", OOM_HINT)
        if "image" in low and any(w in low for w in ("unknown format", "decode", "invalid", "unsupported")):
            return RuntimeFailure(f"Ollama: {what}: the server could not read the image ({msg})",
                                  "pass a PNG or JPEG with --image")
        if "file does not exist" in low or "not found" in low:
            return RuntimeFailure(f"Ollama: {what}: {msg}", "check the tag on https://ollama.com/library")
        if getattr(exc, "status_code", None) in (401, 403):
            return RuntimeFailure(f"Ollama: {what}: access denied ({msg})",
                                  "the server (or a proxy before it) wants credentials; check OLLAMA_HOST")
        return RuntimeFailure(f"Ollama: {what}: {msg}", RESUME_HINT if what.startswith("pull") else START_HINT)
    return RuntimeFailure(f"Ollama: {what}: {type(exc).__name__}: {exc}", START_HINT)


@dataclass
class LayerProgress:
    digest: str
    total: int
    completed: int


def pull(tag: str, on_progress: Callable[[str, LayerProgress | None], None]) -> None:
    """Pull `tag`, calling `on_progress(status, layer)` for every line of Ollama's stream."""
    ollama, client = _client()
    try:
        stream: Iterator[ProgressResponse] = client.pull(tag, stream=True)
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
