"""A loopback stand-in for an Ollama server, for tests.

Written from Ollama's REST API reference (docs/api.md in ollama/ollama) and checked
against the official Python client (ollama-python's ``ollama/_client.py``), so that
``ollama.Client(host=srv.url)`` works against it unchanged.  Standard library only;
it listens on 127.0.0.1 with an ephemeral port and never touches the network.

    with FakeOllama({"llava:7b": {}}) as srv:
        client = ollama.Client(host=srv.url)     # or OLLAMA_HOST=srv.host
        ...
        assert srv.pulled == [...]

Behaviour mirrors the real server where tests are likely to care:

* Streaming endpoints answer ``application/x-ndjson`` with chunked transfer encoding,
  one JSON object per line; ``"stream"`` defaults to true as in Ollama.
* An error *after* a stream has started is sent as a final ``{"error": "..."}`` line
  with HTTP 200 (headers are already out), as Ollama does; the Python client turns
  that line into ``ResponseError(msg)`` with ``status_code == -1``.
* Errors before any output are JSON ``{"error": ...}`` bodies with a 4xx/5xx status
  (the client raises ``ResponseError(msg, status)``).
* Pull of a name the "registry" does not know streams ``{"status":"pulling manifest"}``
  then ``{"error":"pull model manifest: file does not exist"}`` (HTTP 200); with
  ``"stream": false`` it is a 500 with that error.
* Names without a tag are listed as ``name:latest`` (Ollama's convention); look-ups
  accept either form.

Each entry of ``requests`` is ``{"method", "path", "body"}``; /api/pull entries add
``pull_model``, /api/chat entries add ``images`` (how many, over all messages),
``images_b64_ok`` (one bool per image: strict base64?) and ``options``.

``chunk_delay_s`` sleeps between streamed lines of a pull and between chat chunks;
``chat_delay_s`` delays the first chat chunk (time to first token).  ``stop()`` also
drops open connections, so a stopped fake looks like a killed Ollama: a new request
fails to connect and an in-flight stream is cut (the client sees
``httpx.RemoteProtocolError``, "incomplete chunked read").

Knobs are plain attributes read per request, so a test may change them between
calls (e.g. ``srv.pull_error_at = None`` to let a retry succeed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Iterator

__all__ = ["FakeOllama", "normalize_name"]

_DEFAULT_LAYERS = [4_000_000, 600_000, 1_000]
_PROGRESS_STEPS = 4  # progress lines carrying "completed" per layer (after one without it)


def normalize_name(name: str) -> str:
    """``llava`` -> ``llava:latest``; names that carry a tag are unchanged.

    A ``:`` before the last ``/`` belongs to a registry host (``host:5000/ns/m``).
    """
    name = name.strip()
    if not name:
        return name
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else name + ":latest"


def _now_iso(offset_s: float = 0.0) -> str:
    t = datetime.now(timezone.utc) + timedelta(seconds=offset_s)
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _guess_family(name: str) -> str:
    base = name.rsplit("/", 1)[-1].split(":", 1)[0].lower()
    for fam in ("qwen2.5vl", "qwen2vl", "qwen3vl", "gemma3", "llama4", "mllama", "minicpmv",
                "moondream", "granite", "mistral3", "llava", "llama", "qwen", "gemma"):
        if fam.replace(".", "") in base.replace(".", "").replace("-", ""):
            return fam
    return "llama"


def _split_reply(text: str, pieces: int = 4) -> list[str]:
    """Split text into about ``pieces`` chunks that concatenate back to ``text``."""
    if not text:
        return [""]
    words = text.split(" ")
    n = max(1, min(pieces, len(words)))
    per = -(-len(words) // n)
    out = []
    for i in range(0, len(words), per):
        chunk = " ".join(words[i:i + per])
        out.append(chunk if i + per >= len(words) else chunk + " ")
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, fake: "FakeOllama"):
        self.fake = fake
        super().__init__(addr, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked streaming + keep-alive, like Ollama (Go net/http)
    server_version = "FakeOllama"
    sys_version = ""

    # -- plumbing ---------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)  # type: ignore[attr-defined]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)  # type: ignore[attr-defined]

    @property
    def fake(self) -> "FakeOllama":
        return self.server.fake  # type: ignore[attr-defined]

    def _read_body(self) -> tuple[bytes, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw:
            return raw, None
        try:
            return raw, json.loads(raw)
        except ValueError:
            return raw, None

    def _send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_text(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _stream(self, lines: Iterable[dict]) -> None:
        """Send NDJSON lines with chunked encoding; the iterator may sleep between lines."""
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for obj in lines:
                data = json.dumps(obj).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # client went away mid-stream
            self.close_connection = True

    def _dispatch(self) -> None:
        raw, body = self._read_body() if self.command in ("POST", "DELETE", "PUT") else (b"", None)
        path = self.path.split("?", 1)[0]
        entry: dict[str, Any] = {"method": self.command, "path": path, "body": body}
        self.fake._record(entry)
        if body is None and raw and path.startswith("/api/") and self.command == "POST":
            return self._send_json(400, {"error": "invalid request body"})
        body = body if isinstance(body, dict) else {}
        route = {
            ("GET", "/"): self._root,
            ("HEAD", "/"): self._root,
            ("GET", "/api/version"): self._version,
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/ps"): self._ps,
            ("POST", "/api/pull"): self._pull,
            ("POST", "/api/show"): self._show,
            ("POST", "/api/chat"): self._chat,
        }.get((self.command, path))
        if route is None:
            return self._send_json(404, {"error": "not found"})
        route(body, entry)

    do_GET = do_POST = do_HEAD = do_DELETE = do_PUT = _dispatch

    # -- endpoints --------------------------------------------------------------------

    def _root(self, body: dict, entry: dict) -> None:
        self._send_text(200, "Ollama is running")

    def _version(self, body: dict, entry: dict) -> None:
        self._send_json(200, {"version": self.fake.version})

    def _tags(self, body: dict, entry: dict) -> None:
        self._send_json(200, {"models": [self.fake._tag_entry(n) for n in self.fake._installed_names()]})

    def _ps(self, body: dict, entry: dict) -> None:
        self._send_json(200, {"models": [self.fake._ps_entry(n) for n in self.fake._loaded_names()]})

    def _show(self, body: dict, entry: dict) -> None:
        name = body.get("model") or body.get("name") or ""
        key = self.fake._installed_key(name)
        if key is None:
            return self._send_json(404, {"error": f"model '{name}' not found"})
        self._send_json(200, self.fake._show_entry(key))

    def _pull(self, body: dict, entry: dict) -> None:
        fake = self.fake
        name = body.get("model") or body.get("name") or ""
        stream = body.get("stream", True) is not False
        entry["pull_model"] = name
        if not name:
            return self._send_json(400, {"error": "model is required"})
        lines = fake._pull_lines(name)
        if stream:
            self._stream(lines)
        else:
            last: dict = {}
            for obj in lines:  # run it through, as waitForStream does
                if "error" in obj:
                    return self._send_json(500, {"error": obj["error"]})
                last = obj
            self._send_json(200, last)

    def _chat(self, body: dict, entry: dict) -> None:
        fake = self.fake
        name = body.get("model") or ""
        stream = body.get("stream", True) is not False
        messages = body.get("messages") or []
        images: list = []
        for m in messages if isinstance(messages, list) else []:
            if isinstance(m, dict):
                images.extend(m.get("images") or [])
        entry["images"] = len(images)
        entry["images_b64_ok"] = [_is_b64(i) for i in images]
        entry["options"] = body.get("options")
        if not name:
            return self._send_json(400, {"error": "model is required"})
        key = fake._installed_key(name)
        if key is None:
            return self._send_json(404, {"error": f'model "{name}" not found, try pulling it first'})

        keep_alive = body.get("keep_alive")
        if not messages:  # load / unload request, answered at once
            if keep_alive in (0, "0", "0s", "0m"):
                fake._unload(key)
                reason = "unload"
            else:
                fake._load(key)
                reason = "load"
            return self._send_json(200, {"model": name, "created_at": _now_iso(),
                                         "message": {"role": "assistant", "content": ""},
                                         "done_reason": reason, "done": True})
        fake._load(key)
        reply = fake.chat_reply
        pieces = _split_reply(reply)
        prompt_tokens = 20 + sum(len(str(m.get("content") or "").split()) for m in messages
                                 if isinstance(m, dict)) + 576 * len(images)
        eval_count = max(1, len(reply.split()))
        delay = fake.chat_delay_s
        load_ns, prompt_ns = 2_000_000, 50_000_000
        eval_ns = 25_000_000 * eval_count
        stats = {
            "done": True, "done_reason": "stop",
            "total_duration": int(delay * 1e9) + load_ns + prompt_ns + eval_ns,
            "load_duration": load_ns, "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": prompt_ns + int(delay * 1e9),
            "eval_count": eval_count, "eval_duration": eval_ns,
        }

        if not stream:
            if delay:
                time.sleep(delay)
            return self._send_json(200, {"model": name, "created_at": _now_iso(),
                                         "message": {"role": "assistant", "content": reply}, **stats})

        def lines() -> Iterator[dict]:
            if delay:
                time.sleep(delay)
            for i, piece in enumerate(pieces):
                if i and fake.chunk_delay_s:
                    time.sleep(fake.chunk_delay_s)
                yield {"model": name, "created_at": _now_iso(),
                       "message": {"role": "assistant", "content": piece}, "done": False}
            yield {"model": name, "created_at": _now_iso(),
                   "message": {"role": "assistant", "content": ""}, **stats}

        self._stream(lines())


def _is_b64(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        base64.b64decode(value, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


class FakeOllama:
    """In-process fake Ollama server on 127.0.0.1 (ephemeral port).

    ``models`` maps installed model names to optional metadata overrides: ``size``,
    ``digest``, ``family``, ``parameter_size``, ``quantization_level``, ``format``,
    ``capabilities``, ``context_length``, ``size_vram``.  ``registry`` is the set of
    names a pull may fetch (besides ``models``); None accepts every name except those
    starting with ``no-such``.
    """

    def __init__(self, models: dict[str, dict] | None = None, *, pull_error_at: int | None = None,
                 pull_error: str = "max retries exceeded: unexpected EOF",
                 layer_sizes: list[int] | None = None, chunk_delay_s: float = 0.0,
                 chat_reply: str = ("The card says INVOICE 4711, total 1234.50. "
                                    "Bars: A=3, B=7, C=5. The shape is red."),
                 chat_delay_s: float = 0.0, size_vram: int = 5_000_000_000,
                 version: str = "0.12.6", registry: set[str] | None = None):
        self.models: dict[str, dict] = {normalize_name(k): dict(v or {}) for k, v in (models or {}).items()}
        self.pull_error_at = pull_error_at
        self.pull_error = pull_error
        self.layer_sizes = list(layer_sizes) if layer_sizes is not None else list(_DEFAULT_LAYERS)
        self.chunk_delay_s = chunk_delay_s
        self.chat_reply = chat_reply
        self.chat_delay_s = chat_delay_s
        self.size_vram = size_vram
        self.version = version
        self.registry = None if registry is None else {normalize_name(n) for n in registry}
        self.requests: list[dict] = []
        self.pulled: list[str] = []   # names as sent in successful pull requests
        self._loaded: dict[str, float] = {}  # normalized name -> load time
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.host = ""
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> "FakeOllama":
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        port = self._server.server_address[1]
        self.host = f"127.0.0.1:{port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-ollama-{port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        # Drop kept-alive and in-flight connections too, so a stopped fake behaves like a
        # killed Ollama (a pooled client connection must not keep being served).
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> "FakeOllama":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- state helpers (called from handler threads) ----------------------------------

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def _record(self, entry: dict) -> None:
        with self._lock:
            self.requests.append(entry)

    def _installed_names(self) -> list[str]:
        with self._lock:
            return list(self.models)

    def _installed_key(self, name: str) -> str | None:
        key = normalize_name(name or "")
        with self._lock:
            return key if key in self.models else None

    def _loaded_names(self) -> list[str]:
        with self._lock:
            return [n for n in self._loaded if n in self.models]

    def _load(self, key: str) -> None:
        with self._lock:
            self._loaded[key] = time.time()

    def _unload(self, key: str) -> None:
        with self._lock:
            self._loaded.pop(key, None)

    def _known_to_registry(self, name: str) -> bool:
        key = normalize_name(name)
        if key in self.models:
            return True
        if self.registry is None:
            return not name.rsplit("/", 1)[-1].startswith("no-such")
        return key in self.registry

    def _meta(self, key: str) -> dict:
        with self._lock:
            meta = dict(self.models.get(key) or {})
        family = meta.get("family") or _guess_family(key)
        return {
            "size": int(meta.get("size", sum(self.layer_sizes))),
            "digest": meta.get("digest") or _sha("model:" + key),
            "format": meta.get("format", "gguf"),
            "family": family,
            "families": meta.get("families") or [family, "clip"],
            "parameter_size": meta.get("parameter_size", "7.2B"),
            "quantization_level": meta.get("quantization_level", "Q4_K_M"),
            "capabilities": list(meta.get("capabilities") or ["completion", "vision"]),
            "context_length": int(meta.get("context_length", 4096)),
            "size_vram": meta.get("size_vram"),
        }

    @staticmethod
    def _details(m: dict) -> dict:
        return {"parent_model": "", "format": m["format"], "family": m["family"],
                "families": m["families"], "parameter_size": m["parameter_size"],
                "quantization_level": m["quantization_level"]}

    def _tag_entry(self, key: str) -> dict:
        m = self._meta(key)
        return {"name": key, "model": key, "modified_at": _now_iso(-3600), "size": m["size"],
                "digest": m["digest"], "details": self._details(m)}

    def _ps_entry(self, key: str) -> dict:
        m = self._meta(key)
        vram = int(m["size_vram"] if m["size_vram"] is not None else self.size_vram)
        return {"name": key, "model": key, "size": max(vram, m["size"]), "size_vram": vram,
                "digest": m["digest"], "details": self._details(m),
                "expires_at": _now_iso(300), "context_length": m["context_length"]}

    def _show_entry(self, key: str) -> dict:
        m = self._meta(key)
        fam = m["family"]
        return {
            "license": "fake license",
            "modelfile": f"# Modelfile generated by \"ollama show\"\nFROM {key}\n",
            "parameters": "temperature 0\nnum_ctx 4096",
            "template": "{{ .Prompt }}",
            "details": self._details(m),
            "model_info": {
                "general.architecture": fam,
                "general.file_type": 15,
                "general.parameter_count": 7_241_732_096,
                "general.quantization_version": 2,
                f"{fam}.context_length": m["context_length"],
                f"{fam}.block_count": 32,
                f"{fam}.embedding_length": 4096,
            },
            "capabilities": m["capabilities"],
            "modified_at": _now_iso(-3600),
        }

    def _pull_lines(self, name: str) -> Iterator[dict]:
        """The NDJSON objects of one pull, sleeping chunk_delay_s between them."""
        delay = self.chunk_delay_s
        error_at = self.pull_error_at
        key = normalize_name(name)
        first = True

        def pause() -> None:
            nonlocal first
            if delay and not first:
                time.sleep(delay)
            first = False

        pause()
        yield {"status": "pulling manifest"}
        if not self._known_to_registry(name):
            pause()
            yield {"error": "pull model manifest: file does not exist"}
            return
        sent = 0
        for i, total in enumerate(self.layer_sizes):
            hexd = _sha(f"{key}:layer{i}")
            base = {"status": f"pulling {hexd[:12]}", "digest": f"sha256:{hexd}", "total": int(total)}
            # first line has no "completed" (Go omitempty of 0), as Ollama sends it
            steps = [None] + [int(total) * s // _PROGRESS_STEPS for s in range(1, _PROGRESS_STEPS + 1)]
            for completed in steps:
                if error_at is not None and sent >= error_at:
                    pause()
                    yield {"error": self.pull_error}
                    return
                pause()
                yield base if completed is None else {**base, "completed": completed}
                sent += 1
        if error_at is not None:  # asked to fail after more progress lines than there are
            pause()
            yield {"error": self.pull_error}
            return
        for status in ("verifying sha256 digest", "writing manifest"):
            pause()
            yield {"status": status}
        with self._lock:
            if key not in self.models:
                self.models[key] = {}
            self.pulled.append(name)
        pause()
        yield {"status": "success"}
