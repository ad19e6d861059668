"""Shared fixtures: every test runs with its own user directories and no real Ollama or GPU settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirun import UNSET, run_cli, user_env
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
    for k, v in user_env(tmp_path, session_cache).items():
        monkeypatch.setenv(k, v)
    for var in UNSET:  # tests that want an engine ask tests/engines.py for it
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def catalog():
    from vlmselect.catalog import load_catalog

    return load_catalog(include_user=False)


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
