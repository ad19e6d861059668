"""A loopback stand-in for an OpenAI-compatible server (vLLM, llama-server): /v1/models and streamed
/v1/chat/completions, written from the OpenAI API reference (chat completion chunks, `data:` lines,
`[DONE]`, `stream_options.include_usage`). Each request takes `token_delay_s` per token whatever else
is in flight, as a batching server does until it saturates. Requests are recorded for shape checks."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from vlmselect.smoke import CARD_BARS, CARD_COLOUR, CARD_TEXT

CARD_ANSWER = "\n".join(CARD_TEXT) + "\n" + ", ".join(f"{k}={v}" for k, v in CARD_BARS.items()) + f"\n{CARD_COLOUR}"


class StandIn:
    def __init__(self, model: str = "tiny-vlm", answer: str = CARD_ANSWER, token_delay_s: float = 0.002,
                 fail_every: int = 0):
        self.model, self.answer, self.token_delay_s, self.fail_every = model, answer, token_delay_s, fail_every
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _json(self, code: int, obj: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": outer.model, "object": "model", "owned_by": "standin"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with outer.lock:
                    outer.requests.append(body)
                    n = len(outer.requests)
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": "not found"}})
                if body.get("model") != outer.model:
                    return self._json(404, {"error": {"message": f"model {body.get('model')!r} not found"}})
                if outer.fail_every and n % outer.fail_every == 0:
                    return self._json(500, {"error": {"message": "injected failure"}})
                words = outer.answer.split(" ")
                pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
                if not body.get("stream"):
                    time.sleep(outer.token_delay_s * len(pieces))
                    return self._json(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": outer.answer}}],
                                            "usage": {"completion_tokens": len(pieces)}})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for p in pieces:
                    time.sleep(outer.token_delay_s)
                    chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": p}}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                if (body.get("stream_options") or {}).get("include_usage"):
                    self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': {'completion_tokens': len(pieces)}})}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
