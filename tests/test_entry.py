"""The process entry (vlmselect/entry.py): the commands that leave with os._exit lose nothing.

Each test runs vlmselect as a user does, in a child process, since os._exit ends the process.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from vlmselect.entry import FAST_EXIT

# One ordinary run of every command that leaves with os._exit.
FAST_RUNS = {
    "recommend": ["recommend", "--task", "ocr", "--gpu", "RTX 3090", "--json"],
    "estimate": ["estimate", "qwen2.5-vl-7b", "--gpu", "T4", "--json"],
    "models": ["models", "--json"],
    "show": ["show", "qwen2.5-vl-7b", "--json"],
    "snippet": ["snippet", "qwen2.5-vl-7b", "--task", "ocr"],
    "catalog": ["catalog", "stats", "--json"],
}


def _vlmselect(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vlmselect", *args], capture_output=True, text=True,
                          timeout=120, env=os.environ, **kw)


def test_every_fast_exit_command_has_a_run_here():
    assert set(FAST_RUNS) == set(FAST_EXIT)


@pytest.mark.parametrize("name", sorted(FAST_RUNS))
def test_fast_exit_commands_need_no_teardown(name):
    """What os._exit would skip: atexit handlers (registered by our code or any module it imports,
    recorded from the first import on), threads still running, and child processes."""
    probe = textwrap.dedent(f"""
        import atexit, io, multiprocessing, sys, threading, contextlib
        calls = []
        register = atexit.register
        atexit.register = lambda f, *a, **k: calls.append(getattr(f, "__qualname__", repr(f))) or register(f, *a, **k)
        sys.argv = ["vlmselect", *{FAST_RUNS[name]!r}]
        from vlmselect.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main()
            except SystemExit as exc:
                code = exc.code
        print(code, calls, [t.name for t in threading.enumerate()], multiprocessing.active_children())
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[-2] == "0 [] ['MainThread'] []"


def test_large_output_arrives_whole_through_a_pipe():
    """models --json is ~250 KB: more than a pipe's buffer, all flushed before os._exit."""
    out = _vlmselect("models", "--json")
    assert out.returncode == 0, out.stderr
    models = json.loads(out.stdout)
    assert len(models) > 100 and all("id" in m for m in models)


def test_exit_codes_and_messages_survive_the_fast_exit():
    usage = _vlmselect("recommend", "--task", "no-such-task")
    assert usage.returncode == 2
    assert "Error: unknown task 'no-such-task'" in usage.stderr and usage.stdout == ""
    flag = _vlmselect("recommend", "--no-such-flag")
    assert flag.returncode == 2 and "No such option" in flag.stderr


def test_a_reader_that_leaves_early_is_not_an_error():
    """`vlmselect models --json | head -c 100`: the writer gets EPIPE; no traceback, no 'internal error'."""
    p = subprocess.Popen([sys.executable, "-m", "vlmselect", "models", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=os.environ)
    assert p.stdout is not None and p.stderr is not None
    head = p.stdout.read(100)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) in (0, 141)
    assert head.startswith(b"[") and "Traceback" not in err and "internal error" not in err
