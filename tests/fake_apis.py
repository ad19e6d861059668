"""A loopback stand-in for the hosted vision APIs and OpenAI-compatible local servers, for tests.

It answers the three request shapes the official SDKs send, in the shapes they parse:

* POST .../chat/completions            OpenAI Chat Completions (OpenAI, llama-server, vLLM)
* POST /v1/messages                    Anthropic Messages
* POST /v1[beta]/models/{model}:generateContent   Gemini API (google-genai)
* POST /upload/v1[beta]/files + its session URL, GET /v1[beta]/files/clip1   Gemini Files API (video)

and records every request (method, path, headers, JSON body) so a test can check what a snippet
sent: the model id, how the image was encoded, the detail level. Standard library only; it listens
on 127.0.0.1 with an ephemeral port.

    with FakeAPIs() as srv:
        env = {"OPENAI_BASE_URL": srv.url + "/v1", "ANTHROPIC_BASE_URL": srv.url, "GOOGLE_GEMINI_BASE_URL": srv.url}
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = "INVOICE 4711"


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
        self.server.fake.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers), "body": None})
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
        if self.path.startswith("/upload"):
            self.server.fake.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                              "body": None, "bytes": len(raw)})
            return self._upload(raw)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_unparsed": raw[:200].decode("latin-1")}
        entry = {"method": "POST", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body}
        self.server.fake.requests.append(entry)
        path = self.path.split("?")[0]
        if path.endswith("/chat/completions"):
            return self._send(200, {
                "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body.get("model", ""),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": REPLY}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}})
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeAPIs):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class FakeAPIs:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.uploaded = b""  # the bytes of a Files API upload
        self.upload_mime = ""
        self.url = ""
        self._srv: _Server | None = None

    def __enter__(self) -> FakeAPIs:
        self._srv = _Server(self)
        self.url = f"http://127.0.0.1:{self._srv.server_address[1]}"
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()
