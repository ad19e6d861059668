"""The error boundary at the runners: what the environment can do wrong (no memory, no weights,
no package, a broken connection, a bad image, a gated repo) ends in a message, a hint and exit 1,
and a failed smoke leaves a failed record with what it measured."""

from __future__ import annotations

import json
import shutil

import pytest
from fake_ollama import FakeOllama
from tiny_llava import build_tiny_llava, catalog_entry

from vlmselect.errors import RuntimeFailure



@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory):
    return build_tiny_llava(tmp_path_factory.mktemp("tiny") / "llava")


@pytest.fixture
def ollama_srv(monkeypatch):
    with FakeOllama({"llava:7b": {"size": 4_500_000_000}}) as srv:
        monkeypatch.setenv("OLLAMA_HOST", srv.host)
        yield srv


def records(isolated_user):
    d = isolated_user / "data" / "smoke"
    return [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))] if d.is_dir() else []


def seed_hf_cache(hf_home, repo, src):
    rev = "0123456789abcdef0123456789abcdef01234567"
    base = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(rev)
    shutil.copytree(src, base / "snapshots" / rev)
    return base / "snapshots" / rev


# ---------------------------------------------------------------- Hugging Face runner


def test_bin_only_weights_fail_with_a_hint_and_a_failed_record(cli, tiny_llava, tmp_path, isolated_user):
    d = tmp_path / "bin-only"
    shutil.copytree(tiny_llava, d)
    for f in d.glob("*.safetensors"):
        f.rename(f.with_name("pytorch_model.bin"))
    r = cli("smoke", str(d), "--runner", "hf")
    assert r.code == 1, r.err
    assert "no safetensors weights" in r.err and "pytorch_model.bin" in r.err and "Hint:" in r.err
    assert "internal error" not in r.err
    [rec] = records(isolated_user)
    assert rec["passed"] is False and "no safetensors" in rec["error"]["message"]
    saved = next((isolated_user / "data" / "smoke").glob("*.json"))
    assert rec["runner"] == "hf" and f"recorded in {saved}" in r.err


def test_missing_bitsandbytes_names_the_hf_extras(cli, tiny_llava, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    r = cli("smoke", str(tiny_llava), "--runner", "hf", "--quant", "nf4")
    assert r.code == 1
    assert "needs bitsandbytes" in r.err and "vlmselect[hf]" in r.err


def test_cuda_out_of_memory_is_a_message_and_a_failed_record(cli, tiny_llava, monkeypatch, isolated_user):
    import torch
    import transformers

    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(transformers.LlavaForConditionalGeneration, "from_pretrained", oom)
    r = cli("smoke", str(tiny_llava), "--runner", "hf", "--json")
    assert r.code == 1
    assert "out of memory loading" in r.err and "--quant" in r.err and "internal error" not in r.err
    [rec] = records(isolated_user)
    assert rec["passed"] is False and rec["quant"] == "bf16"
    assert rec["vram_estimated_gib"] > 0 and rec["ram_delta_gib"] is not None  # what it had measured


def test_trust_remote_code_accept_path_runs_the_model(cli, tiny_llava, isolated_user, tmp_path):
    seed_hf_cache(isolated_user / "hf", "test-org/tiny-llava", tiny_llava)
    overlay = tmp_path / "models.yaml"
    overlay.write_text(catalog_entry(trust_remote_code=True))
    refused = cli("--catalog", str(overlay), "smoke", "tiny-llava", "--runner", "hf")
    assert refused.code == 2 and "--trust-remote-code" in refused.err
    r = cli("--catalog", str(overlay), "smoke", "tiny-llava", "--runner", "hf", "--trust-remote-code", "--json")
    assert r.code == 1, r.err  # it ran: a random model fails the card, with measurements
    assert "warning" in r.err and "test-org/tiny-llava" in r.err  # the user is told whose code runs
    d = r.json()
    assert d["tokens_per_s"] > 0 and d["id"] == "tiny-llava"


def test_download_broken_off_says_run_again(cli, monkeypatch, tmp_path):
    import httpx
    import huggingface_hub

    def broken(**kwargs):
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", broken)
    overlay = tmp_path / "models.yaml"
    overlay.write_text(catalog_entry())
    r = cli("pull", "tiny-llava", "--runner", "hf", "--cpu-only", "--yes", "--catalog", str(overlay))
    assert r.code == 1
    assert "broke off" in r.err and "run the same command again" in r.err and "resume" in r.err


def test_download_without_safetensors_is_refused(cli, monkeypatch, tmp_path):
    import huggingface_hub

    empty = tmp_path / "snapshot"
    empty.mkdir()
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda **kw: str(empty))
    overlay = tmp_path / "models.yaml"
    overlay.write_text(catalog_entry())
    r = cli("pull", "tiny-llava", "--runner", "hf", "--cpu-only", "--yes", "--catalog", str(overlay))
    assert r.code == 1 and "has no safetensors weights" in r.err and "pickle" in r.err


def test_gated_repo_says_accept_the_licence(cli, monkeypatch, tmp_path):
    import httpx
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    response = httpx.Response(403, request=httpx.Request("GET", "https://huggingface.co/api/models/x"))

    def gated(**kwargs):
        raise GatedRepoError("Access to model test-org/tiny-llava is restricted.", response=response)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", gated)
    overlay = tmp_path / "models.yaml"
    overlay.write_text(catalog_entry())
    r = cli("pull", "tiny-llava", "--runner", "hf", "--cpu-only", "--yes", "--catalog", str(overlay))
    assert r.code == 1 and "gated" in r.err and "HF_TOKEN" in r.err


# ---------------------------------------------------------------- Ollama runner


def test_pull_retry_after_a_mid_stream_error_completes(cli, ollama_srv):
    ollama_srv.pull_error_at = 3
    first = cli("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "RTX 3090", "--yes")
    assert first.code == 1 and "resumes" in first.err and ollama_srv.pulled == []
    ollama_srv.pull_error_at = None
    again = cli("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "RTX 3090", "--yes")
    assert again.code == 0, again.err
    assert len(ollama_srv.pulled) == 1 and ollama_srv.pulled[0].startswith("llava")


def test_a_bad_image_is_a_message_not_a_crash(cli, ollama_srv, tmp_path, isolated_user):
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    r = cli("smoke", "llava:7b", "--runner", "ollama", "--image", str(bad), "--prompt", "what is it?")
    assert r.code == 1 and "is not an image Pillow can read" in r.err and "PNG or JPEG" in r.err
    assert not [q for q in ollama_srv.requests if q["path"] == "/api/chat"]  # refused before sending


@pytest.mark.parametrize("server_says, words", [
    ("model requires more system memory (9.1 GiB) than is available (4.0 GiB)", "out of memory"),
    ("llama runner process has terminated: cudaMalloc failed: out of memory", "out of memory"),
    ("failed to process inputs: image: unknown format", "could not read the image"),
])
def test_ollama_server_errors_are_mapped(server_says, words):
    import ollama

    from vlmselect.runners.ollama import _fail

    err = _fail(ollama, ollama.ResponseError(server_says, 500), "chat with llava:7b")
    assert isinstance(err, RuntimeFailure) and words in err.message and err.hint


def test_ollama_server_killed_mid_chat_is_a_message_and_a_failed_record(cli, ollama_srv, isolated_user):
    ollama_srv.chat_delay_s = 2.0

    import threading

    threading.Timer(0.5, ollama_srv.stop).start()
    r = cli("smoke", "llava:7b", "--runner", "ollama")
    assert r.code == 1 and "internal error" not in r.err
    assert "Ollama" in r.err and "Hint:" in r.err
    [rec] = records(isolated_user)
    assert rec["passed"] is False and rec["latency_s"] > 0 and rec["error"]["message"]  # how long it ran


# ---------------------------------------------------------------- commands return data: pull --json


def test_pull_json_is_one_document_on_stdout(cli, ollama_srv):
    ollama_srv.chat_reply = ("INVOICE 4711\nDate 2026-03-14\nWidgets 3 x 12.50\nTotal 1234.50\nA=3, B=7, C=5\n"
                             "The circle is red.")
    r = cli("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "RTX 3090", "--yes", "--json", "--smoke")
    assert r.code == 0, r.err
    d = json.loads(r.out)  # progress went to stderr: stdout is the JSON alone
    assert d["id"] == "llava-1.6-7b" and d["runner"] == "ollama" and d["artifact"] == ollama_srv.pulled[0]
    assert d["quant"] and d["vram_estimated_gib"] > 0 and d["warnings"] == []
    assert d["smoke"]["passed"] is True and d["smoke"]["id"] == "llava-1.6-7b"
    assert "pulled" in r.err
