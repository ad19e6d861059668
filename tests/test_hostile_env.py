"""Hostile environments: every command under odd HOME, cache, Ollama host, CUDA device, locale and
terminal settings ends in its answer or in a message with a hint (exit 1 or 2), never an internal
error, a traceback or a printed credential. `pull` and `smoke` run against the loopback Ollama."""

from __future__ import annotations

import pytest
from fake_ollama import FakeOllama

GOOD = "INVOICE 4711\nDate 2026-03-14\nWidgets 3 x 12.50\nTotal 1234.50\nA=3, B=7, C=5\nThe circle is red."
CMDS = [("doctor", "--json"), ("recommend", "--task", "ocr", "--gpu", "rtx-3090"), ("models", "--json"),
        ("show", "qwen2-vl-7b"), ("estimate", "qwen2-vl-7b", "--gpu", "rtx-3090"), ("snippet", "qwen2-vl-7b"),
        ("plan", "--task", "ocr", "--images", "1000", "--within", "24h", "--gpu", "rtx-3090"),
        ("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "rtx-3090", "--yes"),
        ("smoke", "llava:7b", "--runner", "ollama", "--json")]


def _ok(r, what, secret="s3cr3t"):
    assert "internal error" not in r.err and "Traceback" not in r.err, (what, r.err[-1500:])
    assert secret not in r.out and secret not in r.err, what
    if r.code:
        assert r.code in (1, 2) and "Hint:" in r.err or what[0] == "doctor", (what, r.code, r.err[-1500:])


@pytest.fixture
def srv(monkeypatch):
    with FakeOllama({"llava:7b": {"size": 4_500_000_000}}) as s:
        s.chat_reply = GOOD
        monkeypatch.setenv("OLLAMA_HOST", s.host)
        yield s


ENVS = {
    "home_unset": {"HOME": None},
    "home_missing": {"HOME": "/nonexistent/home"},
    "cache_is_a_file": {"XDG_CACHE_HOME": "/etc/hostname", "HF_HOME": "/etc/hostname", "OLLAMA_MODELS": "/etc/hostname"},
    "tilde_and_relative": {"HF_HOME": "~/x", "OLLAMA_MODELS": "rel/models", "XDG_CACHE_HOME": "rel/cache"},
    "cuda_empty": {"CUDA_VISIBLE_DEVICES": ""},
    "cuda_minus_one": {"CUDA_VISIBLE_DEVICES": "-1"},
    "cuda_uuid": {"CUDA_VISIBLE_DEVICES": "GPU-0000dead-beef"},
    "cuda_mig": {"CUDA_VISIBLE_DEVICES": "MIG-0000dead-beef"},
    "cuda_twice": {"CUDA_VISIBLE_DEVICES": "0,0"},
    "cuda_text": {"CUDA_VISIBLE_DEVICES": "abc"},
    "ascii_terminal": {"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "ascii", "TERM": "dumb"},
    "columns_5": {"COLUMNS": "5"},
    "columns_not_a_number": {"COLUMNS": "abc"},  # once: int('abc'), an internal error
    "columns_zero": {"COLUMNS": "0"},
}


@pytest.mark.parametrize("name", sorted(ENVS))
def test_every_command_under_a_hostile_environment(cli, srv, monkeypatch, name):
    for var, value in ENVS[name].items():
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    for args in CMDS:
        r = cli(*args)
        _ok(r, args)
        if args[0] in ("pull", "smoke", "recommend", "models", "show", "estimate", "snippet", "plan"):
            assert r.code == 0, (name, args, r.err[-1500:])


@pytest.mark.parametrize("host,code,says", [
    ("http://[::1", 2, "OLLAMA_HOST is not a valid host[:port]"),  # once: ValueError from urlsplit
    ("h:abc", 2, "OLLAMA_HOST is not a valid host[:port]"),  # once: ValueError importing the client
    ("https://u:s3cr3t@[::1/x", 2, "u:***@"),
    ("garbage::x", 2, "OLLAMA_HOST is not a valid host[:port]"),
    ("127.0.0.1:9", 1, "cannot reach the Ollama server at http://127.0.0.1:9"),
    ("https://u:s3cr3t@127.0.0.1:9/prefix", 1, "https://127.0.0.1:9/prefix"),
])
def test_ollama_host_forms_in_pull_smoke_and_doctor(cli, monkeypatch, host, code, says):
    monkeypatch.setenv("OLLAMA_HOST", host)
    for args in CMDS[-2:]:
        r = cli(*args)
        _ok(r, args)
        assert r.code == code and says in r.err, (args, r.code, r.err)
    r = cli("doctor", "--json")
    _ok(r, ("doctor",))
    server = next(c for c in r.json()["checks"] if c["name"] == "ollama server")
    assert server["status"] in ("warn", "fail") and "s3cr3t" not in str(server)


@pytest.mark.parametrize("host", [":11434", "http://[::1]:11434", "localhost"])
def test_ollama_host_forms_the_client_accepts_reach_the_same_server(host, monkeypatch):
    from vlmselect.runners.ollama import ollama_host

    monkeypatch.setenv("OLLAMA_HOST", host)
    assert ollama_host().endswith(":11434")
    import importlib

    client = importlib.import_module("ollama._client")  # the client's own parser: ours must agree with it
    assert client._parse_host(host) == ollama_host()


def test_json_never_carries_nan_or_infinity(capsys):
    from vlmselect.render import print_json

    print_json({"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": -float("inf")}})
    assert capsys.readouterr().out.split() == ['{', '"a":', 'null,', '"b":', '[', 'null,', '1.5', '],', '"c":', '{',
                                               '"d":', 'null', '}', '}']


def test_interrupt_mid_run_ends_with_a_message_not_a_traceback(cli, srv, monkeypatch):
    import vlmselect.runners.ollama as rt

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(rt, "pull", interrupted)
    r = cli(*CMDS[-2])  # a pull: Ollama keeps the finished layers, so the hint is to run it again
    assert r.code == 1 and "interrupted" in r.err and "Hint: run the same command again" in r.err
    assert "Traceback" not in r.err
    monkeypatch.setattr(rt, "chat", interrupted)
    r = cli(*CMDS[-1])
    assert r.code in (1, 130) and "Traceback" not in r.err and "internal error" not in r.err, r.err
