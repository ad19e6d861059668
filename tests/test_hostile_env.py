"""Hostile environments: every command under odd HOME, cache, Ollama host, CUDA device, locale and
terminal settings ends in its answer or in a message with a hint (exit 1 or 2), never an internal
error, a traceback or a printed credential. `pull` and `smoke` run against the loopback Ollama.
Also: damaged caches and saved records (rebuilt or skipped, never fatal, never a hang), a data
folder that cannot take a record, closed or full standard streams, a terminal whose COLUMNS is no
width, no home at all, another service on Ollama's port, and proxy or certificate variables the
Ollama client cannot use."""

from __future__ import annotations

import json
import os
import threading

import hostile
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


# ---------------------------------------------------------------- damaged caches, records and folders


def _within(seconds, fn):
    """fn() in a thread: a hang (a FIFO read) is a failure, not a stuck test run."""
    box = {}
    t = threading.Thread(target=lambda: box.update(r=fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "hung"
    return box["r"]


def _fifo(f):
    f.unlink()
    os.mkfifo(f)


def _shape(f):
    """Another entry format under the same key: what a development build with an unbumped
    CACHE_SCHEMA (or a hand edit) leaves. Only a rebuild from the YAML can answer then."""
    d = json.loads(f.read_text())
    f.write_text(json.dumps({"key": d["key"], **({"tables": {"models": [{"id": "x"}]}} if "tables" in d else
                                                {"q": {"x": [1]}})}))


DAMAGE = {
    "truncated": lambda f: f.write_bytes(f.read_bytes()[: f.stat().st_size // 2]),
    "not_utf8": lambda f: f.write_bytes(bytes(range(128, 256)) * 8),
    "empty": lambda f: f.write_bytes(b""),
    "json_list": lambda f: f.write_text("[1, 2]"),  # once: AttributeError in the quality cache
    "json_null": lambda f: f.write_text("null"),
    "nested_too_deep": lambda f: f.write_text("[" * 100_000),  # json.loads: RecursionError
    "another_entry_format": _shape,  # once: KeyError 'arch' in every command
    "folder": lambda f: (f.unlink(), f.mkdir()),
    "symlink_loop": lambda f: (f.unlink(), os.symlink(f, f)),
    "dev_null": lambda f: (f.unlink(), os.symlink("/dev/null", f)),
    "dev_zero": lambda f: (f.unlink(), os.symlink("/dev/zero", f)),  # once: read until memory ran out
    "fifo": _fifo,  # once: open() blocked forever, in every command
    "huge": lambda f: os.truncate(f, 2**40),  # a terabyte (sparse): once it would have been read whole
}


def _sans_disk(d):
    return {k: v for k, v in d.items() if k != "hardware"}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_cache_costs_a_rebuild_never_the_answer(cli, tmp_path, monkeypatch, damage):
    from vlmselect import quality
    from vlmselect.catalog import loader

    cache = tmp_path / "cache"
    monkeypatch.setenv("VLMSELECT_CACHE_DIR", str(cache))  # its own: the session's stays whole
    entry = next(e for e in hostile.shipped("models") if e["id"] == "qwen2-vl-7b")
    p = tmp_path / "x-models.yaml"  # a small overlay: its cache is rebuilt in milliseconds
    p.write_text(hostile.dump([dict(entry, id="cache-probe", name="Cache probe", aliases=None)]), encoding="utf-8")
    # recommend reads the quality fit's cache (the fit covers local models and APIs; --api ranks fewer).
    cmds = [("--catalog", str(p), "recommend", "--task", "ocr", "--api", "--top", "60", "--json"),
            ("--catalog", str(p), "show", "cache-probe", "--json")]
    want = [cli(*c) for c in cmds]
    assert [w.code for w in want] == [0, 0], want[0].err
    files = [*cache.glob("catalog-x-models-*.json"), *cache.glob("quality-ocr-*.json")]
    assert len(files) == 2, sorted(cache.iterdir())
    for f in files:
        DAMAGE[damage](f)
    loader._MEMO.pop(str(p), None)  # this process's memos would hide the files
    monkeypatch.setattr(quality, "_MEMO", {})
    for c, w in zip(cmds, want):
        r = _within(20, lambda c=c: cli(*c))
        _ok(r, c)
        # The same answer as from a good cache (the machine's free disk aside: the test writes files).
        assert r.code == 0 and _sans_disk(r.json()) == _sans_disk(w.json()), (c, r.err[-1500:])
    if damage != "folder":  # the next run reads a good cache again
        assert all(isinstance(json.loads(f.read_text()), dict) for f in files)


def _records(d, good):
    """`good` and records that are not records, in the folder `d` (names sort after the good one)."""
    d.mkdir(parents=True)
    (d / "20260101T000000Z-good.json").write_text(json.dumps(good))
    bad = ["[1, 2]", "null", '"text"', "{}", "[" * 100_000, json.dumps(dict(good, passed="yes")),
           json.dumps(dict(good, tokens_per_s="fast", levels="x")), json.dumps(dict(good, id=None, model=None)),
           json.dumps(dict(good, quant=[1], levels=[1, None])), json.dumps(dict(good, time=5, tokens_per_s=float("nan"))),
           json.dumps(dict(good, tokens_per_s=None, levels=[{"ok": True, "concurrency": "1", "images_per_s": "x"}]))]
    for i, text in enumerate(bad):
        (d / f"20260102T00000{i:02d}Z-bad.json").write_text(text)
    (d / "20260103T000000Z-folder.json").mkdir()
    os.mkfifo(d / "20260103T000001Z-fifo.json")  # read, it would block forever
    os.symlink(d / "20260103T000002Z-loop.json", d / "20260103T000002Z-loop.json")


def test_saved_smoke_records_that_are_not_records_are_skipped(isolated_user):
    # recommend reads them on a machine with a GPU: once an AttributeError on a record that was a JSON list.
    from vlmselect.smoke import measured_speeds

    good = {"id": "llava-1.6-7b", "runner": "ollama", "quant": "q4_0", "passed": True, "tokens_per_s": 99.0,
            "gpu": "NVIDIA GeForce RTX 3090", "time": "2026-01-01T00:00:00+00:00"}
    _records(isolated_user / "data" / "smoke", good)
    seen = _within(10, lambda: measured_speeds("NVIDIA GeForce RTX 3090"))
    assert list(seen) == [("llava-1.6-7b", "ollama", "q4_0")] and seen[("llava-1.6-7b", "ollama", "q4_0")] == good


def test_saved_bench_records_that_are_not_records_are_skipped(cli, isolated_user):
    # plan reads them for the GPU it plans on: once an AttributeError ('list' object has no attribute 'get').
    good = {"server": "http://127.0.0.1:8000", "model": "Qwen/Qwen2-VL-7B-Instruct", "catalog_id": "qwen2-vl-7b",
            "when": "2026-01-01T00:00:00+00:00", "gpu": "NVIDIA GeForce RTX 3090",
            "levels": [{"concurrency": 1, "ok": 8, "images_per_s": 0.5}]}
    _records(isolated_user / "data" / "bench", good)
    r = _within(20, lambda: cli("plan", "--model", "qwen2-vl-7b", "--images", "1000", "--within", "24h",
                                "--gpu", "rtx-3090", "--json"))
    _ok(r, ("plan",))
    assert r.code == 0, r.err[-1500:]
    assert "1,800 images/h" in r.out and "bench 2026-01-01" in r.out  # the good record's 0.5 images/s, and only it


def test_smoke_when_the_data_folder_cannot_take_the_record(cli, srv, monkeypatch, tmp_path):
    # Once: NotADirectoryError, an internal error after the run had finished and been measured.
    f = tmp_path / "a-file"
    f.write_text("not a folder")
    monkeypatch.setenv("VLMSELECT_DATA_DIR", str(f))
    r = cli("smoke", "llava:7b", "--runner", "ollama", "--json")
    _ok(r, ("smoke",))
    d = r.json()
    assert r.code == 0 and d["passed"] and d["record"] is None and "set VLMSELECT_DATA_DIR" in d["record_error"], r.err
    r = cli("smoke", "llava:7b", "--runner", "ollama")
    assert r.code == 0 and "PASSED" in r.out and "record not saved in" in r.out, (r.out, r.err)
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # a failed run: its own message first, then why it was not kept
    r = cli("smoke", "llava:7b", "--runner", "ollama")
    _ok(r, ("smoke",))
    assert r.code == 1 and "cannot reach the Ollama server" in r.err and "the failed run record not saved in" in r.err


def test_a_catalog_file_name_that_is_not_utf8(cli, isolated_user):
    # A file copied from a Latin-1 system into the user's folder: once every command failed on
    # str.encode() of its path (the cache file's name), UnicodeEncodeError.
    d = isolated_user / "config"
    d.mkdir()
    entry = next(e for e in hostile.shipped("models") if e["id"] == "qwen2-vl-7b")
    (d / os.fsdecode(b"caf\xe9-models.yaml")).write_text(hostile.dump([dict(entry, id="latin-probe", aliases=None)]))
    for args in [("show", "latin-probe", "--json"), ("models", "--json"), ("catalog", "stats"),
                 ("recommend", "--task", "ocr", "--gpu", "rtx-3090", "--top", "60", "--json")]:
        r = cli(*args)
        _ok(r, args)
        assert r.code == 0 and ("latin-probe" in r.out or args[0] == "catalog"), (args, r.err[-1500:])


# ---------------------------------------------------------------- closed and full standard streams (a real process)


def _proc(args, shell_redirect="", stdout=None, stdin=None):
    """vlmselect in a child process (the streams are the process's own), in this test's environment."""
    import subprocess
    import sys

    cmd = ["sh", "-c", f'exec "$0" -m vlmselect "$@" {shell_redirect}', sys.executable, *args]
    return subprocess.run(cmd, stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=stdin if stdin is not None else subprocess.DEVNULL, text=True, timeout=60)


@pytest.mark.parametrize("args", [("models", "--json"), ("recommend", "--task", "ocr", "--gpu", "rtx-3090")])
def test_standard_output_closed_is_said_not_crashed(args):
    # `vlmselect ... >&-`: Python sets sys.stdout to None; once AttributeError ('NoneType' ... 'write').
    r = _proc(args, ">&-")
    assert r.returncode == 1 and "standard output is closed" in r.stderr and "Hint:" in r.stderr, r.stderr[-1500:]
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full is Linux's")
@pytest.mark.parametrize("args", [("models", "--json"), ("show", "qwen2-vl-7b")])
def test_standard_output_full_is_said_not_crashed(args):
    # `> file` on a full disk (here /dev/full): once "internal error: OSError: [Errno 28]".
    with open("/dev/full", "w") as full:
        r = _proc(args, stdout=full)
    assert r.returncode == 1 and "cannot write the output: No space left on device" in r.stderr, r.stderr[-1500:]
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr and "Exception ignored" not in r.stderr


def test_standard_error_closed_keeps_the_exit_code():
    r = _proc(("show", "no-such-model"), "2>&-")
    assert r.returncode == 2 and r.stdout == "", r.stdout


def test_pull_with_standard_input_closed_asks_no_one(srv):
    # `<&-`: sys.stdin is None; once AttributeError ('NoneType' ... 'isatty') before the download.
    r = _proc(("pull", "llava-1.6-7b", "--runner", "ollama", "--gpu", "rtx-3090", "--json"), "<&-")
    assert r.returncode == 0 and json.loads(r.stdout)["target"] == "llava:7b", r.stderr[-1500:]
    assert srv.pulled == ["llava:7b"]


# ---------------------------------------------------------------- an OLLAMA_HOST where no Ollama answers


def _other_service(reply: bytes):
    """A loopback TCP server that answers every connection with `reply` (another protocol, another service)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)

    def serve():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            with c:
                c.recv(65536)
                c.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return s


@pytest.mark.parametrize("reply,status", [
    (b"SSH-2.0-OpenSSH_9.6\r\n", "warn"),  # once: http.client.BadStatusLine, an internal error in doctor
    (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]", "warn"),
    (b"", "warn"),  # closes at once
], ids=["ssh_banner", "json_list", "closes_at_once"])
def test_another_service_on_the_ollama_port(cli, monkeypatch, reply, status):
    s = _other_service(reply)
    try:
        monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:%d" % s.getsockname()[1])
        r = cli("doctor", "--json")
        _ok(r, ("doctor",))
        server = next(c for c in r.json()["checks"] if c["name"] == "ollama server")
        assert server["status"] == status and server["hint"], server
        for args in CMDS[-2:]:
            r = cli(*args)
            _ok(r, args)
            assert r.code == 1, (args, r.code, r.err)
    finally:
        s.close()


def test_an_ollama_host_http_refuses_is_a_warning(cli, monkeypatch):
    # OLLAMA_HOST='  ': the client makes it http://  :11434, which http.client refuses (InvalidURL).
    monkeypatch.setenv("OLLAMA_HOST", "  ")
    r = cli("doctor", "--json")
    _ok(r, ("doctor",))
    assert next(c for c in r.json()["checks"] if c["name"] == "ollama server")["status"] == "warn"


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("columns", ["0", "100000"])
def test_on_a_terminal_columns_that_are_no_width_give_the_terminals_width(columns):
    # On a terminal rich takes COLUMNS as written: COLUMNS=0 once printed nothing at all, exit 0.
    import re

    from probe import run_on_terminal

    out = run_on_terminal("show", "qwen2-vl-7b", env={"COLUMNS": columns}, size=(40, 100))  # 100 columns wide
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert "Qwen2-VL 7B" in text and max(len(line) for line in text.splitlines()) <= 100, text[:500]


def test_no_home_at_all(cli, monkeypatch):
    # HOME unset and a user id without a passwd entry (a container run as an arbitrary uid):
    # Path.home() raises RuntimeError; once an internal error in every command.
    import pwd

    def no_entry(uid):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    monkeypatch.delenv("HOME", raising=False)
    r = cli("models", "--json")  # the fixture's VLMSELECT_*_DIR and OLLAMA_MODELS need no home
    assert r.code == 0, r.err[-1500:]
    for var in ("VLMSELECT_CONFIG_DIR", "VLMSELECT_CACHE_DIR", "VLMSELECT_DATA_DIR", "XDG_CONFIG_HOME",
                "XDG_CACHE_HOME", "XDG_DATA_HOME", "OLLAMA_MODELS"):
        monkeypatch.delenv(var, raising=False)
    for args in CMDS:
        r = cli(*args)
        _ok(r, args)
        assert r.code == 2 and "HOME is not set" in r.err and "Hint: set HOME" in r.err, (args, r.err[-1500:])


@pytest.mark.parametrize("var,value,says", [
    ("HTTPS_PROXY", "garbage://u:s3cr3t@proxy:3128", "HTTPS_PROXY='garbage://u:***@proxy:3128'"),  # once: blamed OLLAMA_HOST
    ("HTTP_PROXY", "http://[::1", "InvalidURL"),  # once: an internal error
    ("ALL_PROXY", "socks5://127.0.0.1:1", "socksio"),  # a SOCKS proxy without httpx[socks]: once an internal error
    ("SSL_CERT_FILE", "/nonexistent/ca.pem", "SSL_CERT_FILE='/nonexistent/ca.pem'"),  # once: FileNotFoundError
], ids=["proxy_scheme", "proxy_url", "socks_proxy", "cert_file"])
def test_proxy_and_certificate_settings_the_ollama_client_cannot_use(cli, monkeypatch, var, value, says):
    # httpx reads them as the Ollama client is built, before any request: even for a loopback server.
    monkeypatch.setenv(var, value)
    if var == "ALL_PROXY":
        import importlib.util

        if importlib.util.find_spec("socksio") is not None:
            pytest.skip("socksio is installed: the SOCKS proxy is usable")
    for args in CMDS[-2:]:
        r = cli(*args)
        _ok(r, args)
        assert r.code == 2 and says in r.err and "OLLAMA_HOST" not in r.err.split("Hint:")[0], (args, r.err)
