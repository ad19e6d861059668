"""The loopback fake Ollama server speaks well enough for the real ``ollama`` client."""

from __future__ import annotations

import socket
import time

import pytest

import ollama  # noqa: E402  (CI installs it: these tests must run, never skip)
import httpx  # noqa: E402

from fake_ollama import FakeOllama  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # any bytes: the client base64-encodes them


@pytest.fixture(autouse=True)
def _no_proxy_no_host(monkeypatch):
    # httpx honours HTTP(S)_PROXY/ALL_PROXY even for 127.0.0.1 unless NO_PROXY says otherwise.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "OLLAMA_HOST", "OLLAMA_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def srv():
    with FakeOllama({"llava:7b": {"size": 4_700_000_000, "parameter_size": "7B"}}) as s:
        yield s


@pytest.fixture
def make_client():
    made = []

    def make(host=None):
        made.append(ollama.Client(host=host))
        return made[-1]

    yield make
    for c in made:
        c.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_version_root_and_unknown_path(srv, make_client):
    # ollama.Client has no version() call: ask the endpoint directly.
    assert httpx.get(f"{srv.url}/api/version").json() == {"version": "0.12.6"}
    client = make_client(srv.url)
    assert client._client.get("/api/version").json()["version"] == "0.12.6"
    assert httpx.get(srv.url + "/").text == "Ollama is running"
    r = httpx.get(f"{srv.url}/api/nope")
    assert r.status_code == 404 and r.json() == {"error": "not found"}
    assert srv.host.startswith("127.0.0.1:") and srv.url == "http://" + srv.host


def test_list_via_ollama_host_without_scheme(srv, monkeypatch, make_client):
    monkeypatch.setenv("OLLAMA_HOST", srv.host)  # "127.0.0.1:PORT", no scheme
    models = make_client().list().models
    assert [m.model for m in models] == ["llava:7b"]
    assert models[0].size == 4_700_000_000 and models[0].details.parameter_size == "7B"
    raw = httpx.get(f"{srv.url}/api/tags").json()["models"][0]
    assert raw["name"] == "llava:7b" and set(raw["details"]) >= {
        "format", "family", "parameter_size", "quantization_level"}


def test_pull_stream_progress_then_listed(srv, make_client):
    client = make_client(srv.url)
    parts = list(client.pull("moondream", stream=True))
    assert parts[0].status == "pulling manifest"
    assert [p.status for p in parts[-3:]] == ["verifying sha256 digest", "writing manifest", "success"]
    layers = [p for p in parts if p.digest]
    digests = list(dict.fromkeys(p.digest for p in layers))
    assert len(digests) == 3 and all(d.startswith("sha256:") and len(d) == 71 for d in digests)
    for d, size in zip(digests, [4_000_000, 600_000, 1_000]):
        mine = [p for p in layers if p.digest == d]
        assert mine[0].status == f"pulling {d[7:19]}"
        assert all(p.total == size for p in mine)
        assert mine[0].completed is None  # Ollama omits completed=0
        assert [p.completed for p in mine[1:]] == sorted(p.completed for p in mine[1:])
        assert mine[-1].completed == size
    assert srv.pulled == ["moondream"]
    assert "moondream:latest" in [m.model for m in client.list().models]
    assert client.pull("moondream").status == "success"  # the client's default is stream=False
    assert srv.requests[-1]["body"]["stream"] is False


def test_pull_error_mid_stream_and_retry(make_client):
    with FakeOllama(pull_error_at=3) as srv:
        client = make_client(srv.url)
        seen = []
        with pytest.raises(ollama.ResponseError) as ei:
            for p in client.pull("llava:13b", stream=True):
                seen.append(p)
        assert ei.value.error == "max retries exceeded: unexpected EOF"
        assert ei.value.status_code == -1  # an "error" line inside a 200 stream
        assert len([p for p in seen if p.digest]) == 3
        with pytest.raises(ollama.ResponseError) as ei:
            client.pull("llava:13b")  # stream=False: HTTP 500
        assert ei.value.status_code == 500 and "unexpected EOF" in ei.value.error
        assert srv.pulled == []
        srv.pull_error_at = None
        assert client.pull("llava:13b").status == "success"
        assert srv.pulled == ["llava:13b"]


def test_pull_unknown_model(make_client):
    with FakeOllama(registry={"llava:7b"}) as srv:
        client = make_client(srv.url)
        with pytest.raises(ollama.ResponseError, match="file does not exist"):
            list(client.pull("no-such-model", stream=True))
        with pytest.raises(ollama.ResponseError) as ei:
            client.pull("bakllava")
        assert ei.value.error == "pull model manifest: file does not exist"
        assert ei.value.status_code == 500
        assert client.pull("llava:7b", insecure=True).status == "success"
        assert srv.requests[-1]["body"]["insecure"] is True


def test_show(srv, make_client):
    client = make_client(srv.url)
    info = client.show("llava:7b")
    assert "vision" in info.capabilities and info.modelinfo["general.architecture"] == "llava"
    with pytest.raises(ollama.ResponseError) as ei:
        client.show("nope:1b")
    assert ei.value.status_code == 404 and ei.value.error == "model 'nope:1b' not found"


def test_chat_with_image_then_ps(srv, make_client):
    client = make_client(srv.url)
    assert client.ps().models == []
    r = client.chat("llava:7b", messages=[{"role": "user", "content": "Read it", "images": [PNG]}],
                    options={"temperature": 0})
    assert r.message.content == srv.chat_reply
    assert r.done and r.done_reason == "stop" and r.eval_count > 0 and r.eval_duration > 0
    entry = srv.requests[-1]
    assert entry["path"] == "/api/chat" and entry["images"] == 1 and entry["images_b64_ok"] == [True]
    assert entry["options"] == {"temperature": 0}
    ps = client.ps().models
    assert [m.model for m in ps] == ["llava:7b"] and ps[0].size_vram == 5_000_000_000


def test_chat_stream_chunks_and_first_token_delay(make_client):
    with FakeOllama({"llava:7b": {}}, chat_delay_s=0.15) as srv:
        client = make_client(srv.url)
        t0 = time.monotonic()
        it = client.chat("llava:7b", messages=[{"role": "user", "content": "hi"}], stream=True)
        first = next(it)
        assert time.monotonic() - t0 >= 0.15
        rest = list(it)
        chunks = [first, *rest]
        assert len(chunks) > 2 and not first.done and chunks[-1].done
        assert "".join(c.message.content for c in chunks) == srv.chat_reply
        assert chunks[-1].eval_count and chunks[-1].prompt_eval_count and chunks[-1].total_duration


def test_chat_unknown_model(srv, make_client):
    client = make_client(srv.url)
    with pytest.raises(ollama.ResponseError) as ei:
        list(client.chat("llava:34b", messages=[{"role": "user", "content": "x"}], stream=True))
    assert ei.value.status_code == 404
    assert ei.value.error == 'model "llava:34b" not found, try pulling it first'


def test_closed_port_and_stopped_server(make_client):
    client = make_client(f"127.0.0.1:{_closed_port()}")
    with pytest.raises(ConnectionError, match="Failed to connect to Ollama"):
        client.list()
    # Streaming calls are not wrapped by the client: httpx's own error escapes.
    with pytest.raises(httpx.ConnectError):
        list(client.pull("x", stream=True))
    srv = FakeOllama().start()
    client = make_client(srv.url)
    client.list()
    srv.stop()  # also drops the client's kept-alive connection
    with pytest.raises(ConnectionError):
        client.list()
