"""llama.cpp's `llama-server`: find it, build the command line we print and run, start and stop it,
and read its own memory report from its log.

The command that `pull --runner llama.cpp` prints and the one `smoke --runner llama.cpp` runs come
from the same `serve_argv`, so what the user copies is what the tests start.
"""

from __future__ import annotations

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

ENV_BINARY = "VLMSELECT_LLAMA_SERVER"
INSTALL_HINT = ("install llama.cpp (https://github.com/ggml-org/llama.cpp: a release archive, `brew install llama.cpp`, "
                "or build it with cmake) so that `llama-server` is on PATH, or set VLMSELECT_LLAMA_SERVER to its path")
DEFAULT_PORT = 8080  # llama-server's own default (tools/server/README.md)
READY_TIMEOUT_S = 120.0
# llama-server prints its buffer sizes only from log verbosity 4 up (measured: `-lv 3` omits them;
# shared/reference/runtimes.md); `-lv 4` still keeps the per-token lines of `-v` out of the log.
LOG_VERBOSITY = "4"


def find_server() -> str | None:
    """`VLMSELECT_LLAMA_SERVER` when set (and executable), else `llama-server` on PATH."""
    env = os.environ.get(ENV_BINARY, "").strip()
    if env:
        p = Path(env).expanduser()
        return str(p) if p.is_file() and os.access(p, os.X_OK) else None
    return shutil.which("llama-server")


def require_server() -> str:
    b = find_server()
    if b is None:
        where = f"{ENV_BINARY}={os.environ[ENV_BINARY]} is not an executable file" if os.environ.get(ENV_BINARY) \
            else "llama-server is not on PATH"
        raise RuntimeFailure(where, INSTALL_HINT)
    return b


def server_version(binary: str, timeout_s: float = 10.0) -> str | None:
    """`llama-server --version` prints `version: N (commit)` (and the compiler) on stderr."""
    try:
        res = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"version:\s*(\S+)\s*\(([^)]*)\)", res.stdout + res.stderr)
    return f"{m.group(1)} ({m.group(2)})" if m else None


def serve_argv(model: str | Path, mmproj: str | Path | None, *, ctx: int, ngl: int, port: int = DEFAULT_PORT,
               binary: str = "llama-server", extra: tuple[str, ...] = ()) -> list[str]:
    """llama-server on 127.0.0.1 only (its default, said explicitly: never 0.0.0.0)."""
    argv = [binary, "-m", str(model)]
    if mmproj is not None:
        argv += ["--mmproj", str(mmproj)]
    argv += ["-c", str(int(ctx)), "-ngl", str(int(ngl)), "--host", "127.0.0.1", "--port", str(int(port))]
    return argv + list(extra)


def command_line(model: str | Path, mmproj: str | Path | None, *, ctx: int, ngl: int) -> str:
    """The command we print: shell-quoted, with the local paths `pull` downloaded."""
    return shlex.join(serve_argv(model, mmproj, ctx=ctx, ngl=ngl))


def start(binary: str, model: Path, mmproj: Path | None, *, ctx: int, ngl: int, port: int,
          extra: tuple[str, ...] = ()) -> ManagedServer:
    from vlmselect.runners.server import ManagedServer

    argv = serve_argv(model, mmproj, ctx=ctx, ngl=ngl, port=port, binary=binary,
                      extra=("-lv", LOG_VERBOSITY, *extra))
    return ManagedServer(argv, name="llama-server")


# `<function>: <device> <kind> buffer size = <MiB> MiB` (src/llama-model.cpp, llama-kv-cache.cpp,
# llama-context.cpp and tools/mtmd/clip.cpp print them this way), and clip's `model size: <MiB> MiB`.
# Lines carry a timestamp and level first ("0.00.055.059 I load_tensors: ...").
_BUF = re.compile(r"(\w+):\s+(\S+)\s+(model|KV|compute|output)\s+buffer size =\s*([\d.]+) MiB")
_CLIP_MODEL = re.compile(r"\w+: model size:\s*([\d.]+) MiB")
_N_CTX = re.compile(r"llama_context: n_ctx\s*=\s*(\d+)")
_FA = re.compile(r"llama_context: flash_attn\s*=\s*(\w+)")
_TEXT_FUNCS = ("load_tensors", "llama_kv_cache", "sched_reserve", "llama_context", "llama_model_load")


def parse_memory(log: str) -> dict[str, Any]:
    """llama.cpp's own report, in MiB: text model weights, KV cache, compute and output buffers,
    and the mmproj's (clip) weights and compute buffer. The last report of each buffer wins (the
    context re-reserves its compute buffer after warm-up)."""
    text: dict[tuple[str, str, str, int], float] = {}
    clip: dict[tuple[str, str, str, int], float] = {}
    for n, (fn, dev, kind, mib) in enumerate(_BUF.findall(log)):
        target = text if fn.startswith(_TEXT_FUNCS) else clip
        # Each KV cache is allocated once (a sliding-window model has two): all of them count.
        target[(fn, dev, kind, n if kind == "KV" else 0)] = float(mib)

    def total(d: dict[tuple[str, str, str, int], float], kind: str) -> float | None:
        vals = [v for (_, _, k, _), v in d.items() if k == kind]
        return round(sum(vals), 2) if vals else None

    out: dict[str, Any] = {"model_mib": total(text, "model"), "kv_mib": total(text, "KV"), "compute_mib": total(text, "compute"),
           "output_mib": total(text, "output"), "mmproj_compute_mib": total(clip, "compute")}
    m = _CLIP_MODEL.search(log)
    out["mmproj_model_mib"] = float(m.group(1)) if m else None
    m = _N_CTX.search(log)
    out["n_ctx"] = int(m.group(1)) if m else None
    m = _FA.search(log)
    out["flash_attn"] = m.group(1) if m else None
    return out
