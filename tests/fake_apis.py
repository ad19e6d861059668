"""A loopback stand-in for the hosted vision APIs and OpenAI-compatible local servers, for tests.

It answers the request shapes the official SDKs and `vlmselect bench` send, in the shapes they parse:

* GET  /v1/models                      the served model (OpenAI-compatible servers: vLLM, llama-server)
* POST .../chat/completions            OpenAI Chat Completions, plain or streamed (`data:` chunks, `[DONE]`,
                                       `stream_options.include_usage`), from the OpenAI API reference
* POST /v1/messages                    Anthropic Messages
* POST /v1[beta]/models/{model}:generateContent   Gemini API (google-genai)
* POST /upload/v1[beta]/files + its session URL, GET /v1[beta]/files/clip1   Gemini Files API (video)

and records every request (method, path, headers, JSON body) so a test can check what a snippet
sent: the model id, how the image was encoded, the detail level. Standard library only; it listens
on 127.0.0.1 with an ephemeral port.

    with FakeAPIs() as srv:
        env = {"OPENAI_BASE_URL": srv.url + "/v1", "ANTHROPIC_BASE_URL": srv.url, "GOOGLE_GEMINI_BASE_URL": srv.url}

As a local server for `bench`: `FakeAPIs(model="tiny-vlm", answer=CARD_ANSWER, token_delay_s=0.01)`
serves only that model, and each answer takes `token_delay_s` per word piece whatever else is in
flight (as a batching server does until it saturates); `fail_every=N` fails every Nth chat request.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from vlmselect.smoke import CARD_BARS, CARD_COLOUR, CARD_TEXT

REPLY = "INVOICE 4711"
# The test card read right: what `bench` and `smoke` score as a pass.
CARD_ANSWER = "\n".join(CARD_TEXT) + "\n" + ", ".join(f"{k}={v}" for k, v in CARD_BARS.items()) + f"\n{CARD_COLOUR}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, code: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _file(self) -> dict:
        fake = self.server.fake
        return {"name": "files/clip1", "uri": f"{fake.url}/v1beta/files/clip1", "mimeType": fake.upload_mime,
                "sizeBytes": str(len(fake.uploaded)), "state": "ACTIVE"}

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        fake = self.server.fake
        fake.record({"method": "GET", "path": self.path, "headers": dict(self.headers), "body": None})
        if self.path.split("?")[0] == "/v1/models":
            return self._send(200, {"object": "list", "data": [{"id": fake.model or "fake", "object": "model",
                                                                  "owned_by": "standin"}]})
        if re.fullmatch(r"/v1(?:beta)?/files/clip1", self.path.split("?")[0]):
            return self._send(200, self._file())
        self._send(404, {"error": {"message": f"no route {self.path}"}})

    def _upload(self, raw: bytes) -> None:
        """Gemini's resumable upload: `start` hands out a session URL; `upload, finalize` ends it."""
        fake = self.server.fake
        command = (self.headers.get("X-Goog-Upload-Command") or "").lower()
        if "start" in command:
            fake.upload_mime = self.headers.get("X-Goog-Upload-Header-Content-Type") or ""
            self.send_response(200)
            self.send_header("x-goog-upload-url", f"{fake.url}/upload-session/1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        fake.uploaded += raw
        data = json.dumps({"file": self._file()} if "finalize" in command else {}).encode()
        self.send_response(200)
        self.send_header("x-goog-upload-status", "final" if "finalize" in command else "active")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        fake = self.server.fake
        if self.path.startswith("/upload"):
            fake.record({"method": "POST", "path": self.path, "headers": dict(self.headers), "body": None,
                         "bytes": len(raw)})
            return self._upload(raw)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_unparsed": raw[:200].decode("latin-1")}
        entry = {"method": "POST", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body}
        path = self.path.split("?")[0]
        n = fake.record(entry, chat=path.endswith("/chat/completions"))
        if path.endswith("/chat/completions"):
            return self._chat(body, n)
        if path == "/v1/messages":
            return self._send(200, {
                "id": "msg_1", "type": "message", "role": "assistant", "model": body.get("model", ""),
                "content": [{"type": "text", "text": REPLY}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 2}})
        m = re.fullmatch(r"/v1(?:beta)?/models/([^/:]+):generateContent", path)  # the SDK uses v1, REST docs v1beta
        if m:
            entry["model"] = m.group(1)
            return self._send(200, {
                "candidates": [{"content": {"role": "model", "parts": [{"text": REPLY}]}, "finishReason": "STOP",
                                "index": 0}],
                "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 2, "totalTokenCount": 3},
                "modelVersion": m.group(1)})
        self._send(404, {"error": {"message": f"no route {path}"}})


    def _chat(self, body: dict, n: int) -> None:
        """OpenAI Chat Completions: the whole answer, or streamed in word pieces with `stream`."""
        fake = self.server.fake
        if fake.model is not None and body.get("model") != fake.model:
            return self._send(404, {"error": {"message": f"model {body.get('model')!r} not found"}})
        if fake.fail_every and n % fake.fail_every == 0:
            return self._send(500, {"error": {"message": "injected failure"}})
        words = fake.answer.split(" ")
        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        usage = {"prompt_tokens": 1, "completion_tokens": len(pieces), "total_tokens": 1 + len(pieces)}
        if not body.get("stream"):
            time.sleep(fake.token_delay_s * len(pieces))
            return self._send(200, {
                "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body.get("model", ""),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": fake.answer}}],
                "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()  # no Content-Length: the stream ends when the connection closes (HTTP/1.0)
        for p in pieces:
            time.sleep(fake.token_delay_s)
            chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": p}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        if (body.get("stream_options") or {}).get("include_usage"):
            self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeAPIs):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class FakeAPIs:
    def __init__(self, model: str | None = None, answer: str = REPLY, token_delay_s: float = 0.0,
                 fail_every: int = 0) -> None:
        self.model, self.answer, self.token_delay_s, self.fail_every = model, answer, token_delay_s, fail_every
        self.requests: list[dict] = []
        self._chats = 0
        self._lock = threading.Lock()
        self.uploaded = b""  # the bytes of a Files API upload
        self.upload_mime = ""
        self.url = ""
        self._srv: _Server | None = None

    def record(self, entry: dict, chat: bool = False) -> int:
        """Keep a request (handlers run in threads); with `chat`, return its number among chat requests."""
        with self._lock:
            self.requests.append(entry)
            self._chats += chat
            return self._chats

    def chat_bodies(self) -> list[dict]:
        return [q["body"] for q in self.requests if q["path"].split("?")[0].endswith("/chat/completions")]

    def __enter__(self) -> FakeAPIs:
        self._srv = _Server(self)
        self.url = f"http://127.0.0.1:{self._srv.server_address[1]}"
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()
