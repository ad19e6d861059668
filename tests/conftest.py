"""Shared fixtures: every test runs with its own user directories and no real Ollama or GPU settings."""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

import engines  # noqa: F401  (reads where the engines are before any test's environment is isolated)


def pytest_report_header(config):
    return engines.versions()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    """One cache directory for the whole session: the shipped catalog is parsed and validated once,
    by the in-process tests and by those that run vlmselect in a subprocess alike. Entries are keyed
    by each file's path, size and mtime, so overlays in a test's own folder get entries of their own;
    the tests of the cache itself point VLMSELECT_CACHE_DIR at a folder of their own."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_user(tmp_path, monkeypatch, session_cache):
    """The user's config, data and model directories, and the Ollama host, private to the test (the
    cache is the session's, outside the checkout)."""
    monkeypatch.setenv("VLMSELECT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VLMSELECT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VLMSELECT_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama"))
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("VLMSELECT_DEBUG", raising=False)
    for var in ("VLMSELECT_LLAMA_SERVER", "VLMSELECT_LLAMA_MTMD_CLI", "VLMSELECT_VLLM"):
        monkeypatch.delenv(var, raising=False)  # tests that want an engine ask tests/engines.py for it
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


@pytest.fixture(scope="session")
def catalog():
    from vlmselect.catalog import load_catalog

    return load_catalog(include_user=False)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run_cli(*args: str) -> Result:
    """Run the real entry point (`vlmselect.cli.main`) in-process; returns exit code and output."""
    from vlmselect.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["vlmselect", *args]
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli


FROZEN_BOARDS = Path(__file__).parent / "data" / "independent_boards.yaml"


@pytest.fixture(scope="session")
def boards():
    """The shipped independent boards (catalog/boards.yaml), validated."""
    from vlmselect.quality import load_boards

    return load_boards()


@pytest.fixture(scope="session")
def frozen():
    """The frozen board snapshots of tests/data, dates as ISO strings (as load_boards gives them)."""
    import yaml

    return [dict(b, date=str(b["date"])) for b in yaml.safe_load(FROZEN_BOARDS.read_text(encoding="utf-8"))]
