"""Running vlmselect in-process as the tests do, and the private user environment each run gets:
shared by tests/conftest.py (the `cli` fixture, `isolated_user`) and scripts/hostile_sweep.py."""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path


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


# Variables a user's machine may set that would reach a real engine, server, GPU or proxy.
UNSET = ("HF_HUB_CACHE", "CUDA_VISIBLE_DEVICES", "VLMSELECT_DEBUG", "VLMSELECT_LLAMA_SERVER",
         "VLMSELECT_LLAMA_MTMD_CLI", "VLMSELECT_VLLM", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
         "http_proxy", "https_proxy", "all_proxy")


def user_env(base: Path, cache: Path) -> dict[str, str]:
    """The user's config, data and model directories under `base`, the cache in `cache`, and
    no real Ollama (the discard port), hub or colour."""
    return {"VLMSELECT_CONFIG_DIR": str(base / "config"), "VLMSELECT_DATA_DIR": str(base / "data"),
            "VLMSELECT_CACHE_DIR": str(cache), "HF_HOME": str(base / "hf"), "HF_HUB_OFFLINE": "1",
            "OLLAMA_MODELS": str(base / "ollama"), "OLLAMA_HOST": "127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
            "NO_COLOR": "1", "COLUMNS": "200"}
