"""`pull` and `smoke` end to end: the real ollama client against a loopback Ollama, and the
transformers runner on a tiny random LLaVA built on the CPU."""

from __future__ import annotations

import json

import pytest
from fake_ollama import FakeOllama
from tiny_llava import build_tiny_llava, catalog_entry


@pytest.fixture
def ollama_srv(monkeypatch):
    with FakeOllama({"llava:7b": {"size": 4_500_000_000}}) as srv:
        monkeypatch.setenv("OLLAMA_HOST", srv.host)
        yield srv


# ---------------------------------------------------------------- pull through Ollama


def test_pull_llava_requests_a_llava_tag(cli, ollama_srv):
    r = cli("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "RTX 3090", "--yes")
    assert r.code == 0, r.err
    pulls = [q for q in ollama_srv.requests if q["path"] == "/api/pull"]
    assert len(pulls) == 1
    assert pulls[0]["body"]["model"].startswith("llava")
    assert ollama_srv.pulled == [pulls[0]["body"]["model"]]
    assert "success" in r.err and "pulled llava" in r.err
    assert "100%" in r.err  # line-based progress when not on a terminal


def test_pull_error_mid_stream_exits_1_with_the_servers_message(cli, ollama_srv):
    ollama_srv.pull_error_at = 3
    r = cli("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "RTX 3090", "--yes")
    assert r.code == 1
    assert "max retries exceeded: unexpected EOF" in r.err
    assert "resumes" in r.err  # the hint: run it again
    assert "Traceback" not in r.err
    assert ollama_srv.pulled == []


def test_pull_without_server_says_start_ollama(cli, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    r = cli("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "RTX 3090", "--yes")
    assert r.code == 1
    assert "ollama serve" in r.err and "Traceback" not in r.err


def test_pull_unknown_model_exits_2(cli):
    r = cli("pull", "no-such-model", "--yes")
    assert r.code == 2
    assert "unknown model" in r.err and "Traceback" not in r.err


def test_pull_of_a_tag_the_registry_lacks_exits_1(cli, ollama_srv):
    ollama_srv.registry = set()  # the registry knows no model: the manifest pull fails
    r = cli("pull", "llama-3.2-11b-vision", "--runner", "ollama", "--gpu", "RTX 3090", "--yes")
    assert r.code == 1 and "file does not exist" in r.err


def test_pull_slow_stream_still_completes(cli, ollama_srv):
    ollama_srv.chunk_delay_s = 0.02
    r = cli("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "RTX 3090", "--yes")
    assert r.code == 0, r.err


def test_pull_refuses_what_does_not_fit_unless_forced(cli, ollama_srv):
    r = cli("pull", "llama-3.2-11b-vision", "--runner", "ollama", "--vram", "2", "--yes")
    assert r.code == 1
    assert "pre-flight" in r.err and "--force" in r.err
    assert not any(q["path"] == "/api/pull" for q in ollama_srv.requests)
    r = cli("pull", "llama-3.2-11b-vision", "--runner", "ollama", "--vram", "2", "--yes", "--force")
    assert r.code == 0, r.err


def test_pull_api_model_is_usage_error(cli):
    r = cli("pull", "gpt-4o", "--yes")
    assert r.code == 2 and "hosted API" in r.err


def test_pull_hf_offline_says_why(cli):
    # No network here: huggingface_hub cannot fetch, and the message says what to do.
    r = cli("pull", "qwen2-vl-7b", "--runner", "hf", "--gpu", "RTX 3090", "--yes")
    assert r.code == 1
    assert "HF_HUB_OFFLINE" in r.err or "not in the local cache" in r.err
    assert "Traceback" not in r.err


# ---------------------------------------------------------------- smoke through Ollama


GOOD_ANSWER = ("INVOICE 4711\nDate 2026-03-14\nWidgets 3 x 12.50\nTotal 1234.50\n"
               "A=3, B=7, C=5\nThe circle is red.")


def test_smoke_ollama_scores_a_correct_answer_as_passed(cli, ollama_srv):
    ollama_srv.chat_reply = GOOD_ANSWER
    r = cli("smoke", "llava:7b", "--runner", "ollama", "--json")
    assert r.code == 0, r.err
    d = r.json()
    assert d["passed"] is True and d["score"] > 0.8
    assert d["tokens_per_s"] > 0 and d["latency_s"] > 0 and d["ttft_s"] is not None
    assert d["vram_peak_gib"] == pytest.approx(5_000_000_000 / 2**30, rel=1e-3)  # from /api/ps size_vram
    chat = [q for q in ollama_srv.requests if q["path"] == "/api/chat"][0]
    assert chat["images"] == 1 and chat["images_b64_ok"] == [True]


def test_smoke_ollama_partial_answer_fails(cli, ollama_srv):
    # Two of the four text lines missing: the chart and colour are right, the text is not.
    ollama_srv.chat_reply = "The card says INVOICE 4711, total 1234.50. Bars: A=3, B=7, C=5. The shape is red."
    d = cli("smoke", "llava:7b", "--runner", "ollama", "--json").json()
    assert d["passed"] is False and d["checks"]["text_cer"] > 0.25 and all(d["checks"]["bars_ok"].values())


def test_smoke_ollama_wrong_answer_fails_with_measurements(cli, ollama_srv):
    ollama_srv.chat_reply = "I see a picture of a cat."
    r = cli("smoke", "llava-1.6-7b", "--runner", "ollama", "--json")
    assert r.code == 1
    d = r.json()
    assert d["passed"] is False and d["latency_s"] > 0 and d["answer"] == "I see a picture of a cat."
    assert d["vram_estimated_gib"] is not None  # catalog model: the estimate sits beside the measurement


def test_smoke_record_is_saved(cli, ollama_srv, isolated_user):
    ollama_srv.chat_reply = GOOD_ANSWER
    r = cli("smoke", "llava:7b", "--runner", "ollama", "--json")
    saved = list((isolated_user / "data" / "smoke").glob("*.json"))
    assert len(saved) == 1
    rec = json.loads(saved[0].read_text())
    assert rec["id"] == "llava-1.6-7b" and rec["target"] == "llava:7b"  # the tag is the catalog model's
    assert rec["passed"] is True and rec["version"] and rec["machine"]
    assert r.json()["record"] == str(saved[0])


def test_smoke_own_image_with_expectation(cli, ollama_srv, tmp_path):
    from vlmselect.smoke import make_card

    img = tmp_path / "mine.png"
    img.write_bytes(make_card().png)
    ollama_srv.chat_reply = "The total is 1234.50."
    r = cli("smoke", "llava:7b", "--runner", "ollama", "--image", str(img), "--prompt", "What is the total?",
            "--expect", "1234.50", "--json")
    assert r.code == 0 and r.json()["passed"] is True
    r = cli("smoke", "llava:7b", "--runner", "ollama", "--image", str(img), "--prompt", "Total?", "--expect", "9999.99")
    assert r.code == 1


def test_smoke_image_missing_is_usage_error(cli, tmp_path):
    r = cli("smoke", "llava:7b", "--runner", "ollama", "--image", str(tmp_path / "none.png"), "--prompt", "x")
    assert r.code == 2 and "image not found" in r.err


# ---------------------------------------------------------------- smoke through transformers (CPU)


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory):
    return build_tiny_llava(tmp_path_factory.mktemp("tiny") / "llava")


@pytest.mark.slow
def test_smoke_hf_tiny_random_llava_fails_with_real_measurements(cli, tiny_llava):
    r = cli("smoke", str(tiny_llava), "--runner", "hf", "--json")
    assert r.code == 1, r.err
    d = r.json()
    assert d["passed"] is False
    assert d["tokens_per_s"] > 0 and d["latency_s"] > 0 and d["new_tokens"] > 0
    assert isinstance(d["answer"], str)
    assert d["device"] == "cpu" and d["quant"] == "fp32"
    assert d["vram_estimated_gib"] is not None  # estimated from the directory's config.json


@pytest.mark.slow
def test_smoke_hf_tiny_llava_nf4_on_cpu(cli, tiny_llava):
    r = cli("smoke", str(tiny_llava), "--runner", "hf", "--quant", "nf4", "--json")
    assert r.code == 1, r.err
    d = r.json()
    assert d["quant"] == "nf4" and d["passed"] is False and d["tokens_per_s"] > 0


def test_smoke_unknown_model_is_usage_error(cli):
    r = cli("smoke", "definitely-not-a-model", "--runner", "hf")
    assert r.code == 2 and "Traceback" not in r.err


def test_trust_remote_code_is_never_silent(cli, tiny_llava):
    cfg = json.loads((tiny_llava / "config.json").read_text())
    cfg["auto_map"] = {"AutoConfig": "configuration_x.XConfig"}
    (tiny_llava / "config.json").write_text(json.dumps(cfg))
    try:
        r = cli("smoke", str(tiny_llava), "--runner", "hf")
        assert r.code == 2 and "--trust-remote-code" in r.err
    finally:
        del cfg["auto_map"]
        (tiny_llava / "config.json").write_text(json.dumps(cfg))


def test_pull_then_smoke(cli, ollama_srv):
    ollama_srv.chat_reply = GOOD_ANSWER
    r = cli("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "RTX 3090", "--yes", "--smoke")
    assert r.code == 0, r.err
    paths = [q["path"] for q in ollama_srv.requests]
    assert paths.index("/api/pull") < paths.index("/api/chat")
    assert "PASSED" in r.out and "llava-1.6-7b" in r.out  # the record names the catalog model


# ---------------------------------------------------------------- pull through Hugging Face (offline cache)


def _seed_hf_cache(hf_home, repo: str, src):
    """Lay `src` out as huggingface_hub's cache does, so snapshot_download finds it with HF_HUB_OFFLINE=1."""
    import shutil

    rev = "0123456789abcdef0123456789abcdef01234567"
    base = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(rev)
    shutil.copytree(src, base / "snapshots" / rev)
    return base / "snapshots" / rev


def test_pull_hf_from_the_cache_then_smoke(cli, tiny_llava, isolated_user, tmp_path):
    snap = _seed_hf_cache(isolated_user / "hf", "test-org/tiny-llava", tiny_llava)
    overlay = tmp_path / "models.yaml"
    overlay.write_text(GOOD_TINY_ENTRY)
    r = cli("pull", "tiny-llava", "--runner", "hf", "--cpu-only", "--yes", "--smoke", "--catalog", str(overlay))
    assert r.code == 1, r.err  # downloaded (from the cache) and loaded; a random model fails the card
    assert f"downloaded test-org/tiny-llava to {snap}" in r.err
    assert "FAILED tiny-llava via hf (fp32)" in r.out


GOOD_TINY_ENTRY = catalog_entry()
