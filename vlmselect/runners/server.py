"""A local inference server we start and always stop: its own process group (so helper processes
that vLLM forks go too), output to a log file we can parse, loopback only, a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"
STOP_GRACE_S = 15.0


def free_port() -> int:
    """A port nothing listens on now (the OS picks it; the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]  # (host, port) for AF_INET
        return port


class ManagedServer:
    """`with ManagedServer(argv, env) as srv:` starts argv, and stops the whole process group on
    exit, whatever happened inside (an error, Ctrl-C)."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None, name: str = "server", log_dir: str | None = None):
        self.argv = argv
        self.env = env
        self.name = name
        fd, path = tempfile.mkstemp(prefix=f"vlmselect-{name}-", suffix=".log", dir=log_dir)
        os.close(fd)
        self.log_path = Path(path)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedServer:
        with open(self.log_path, "wb") as log:
            # start_new_session: a process group of its own, so stop() reaches its children, and a
            # Ctrl-C in the terminal goes to us, not straight to the server half-way through a request.
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def stop(self) -> int | None:
        """SIGTERM to the group, SIGKILL after a grace period; returns the exit code."""
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    p.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # Children that outlived the leader (vLLM's engine core) still hold the group id.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return p.poll()

    def __enter__(self) -> ManagedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_port_closed(port: int, timeout_s: float = 10.0) -> bool:
    """True once nothing accepts on 127.0.0.1:port (what a test checks after stop())."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex((LOOPBACK, port)) != 0:
                return True
        time.sleep(0.2)
    return False
