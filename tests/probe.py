"""Code for a child Python that runs vlmselect as the `vlmselect` script does, then lets the test
look inside the process (sys.modules): the entry's os._exit (vlmselect/entry.py) is turned into a
SystemExit, which the probe catches, so that the lines after RUN_AS_MAIN still run."""

RUN_AS_MAIN = (
    "import os, runpy, sys\n"
    "def _exit(code):\n"
    "    raise SystemExit(code)\n"
    "os._exit = _exit\n"
    "try:\n"
    "    runpy.run_module('vlmselect', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
)


def run_on_terminal(*args: str, env: dict[str, str] | None = None, drop: tuple[str, ...] = (),
                    size: tuple[int, int] | None = None) -> str:
    """`python -m vlmselect ARGS` with stdout on a pseudo-terminal (as a user sees it), `size`
    (rows, columns) its window; asserts exit 0 and returns what it drew."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    master, slave = pty.openpty()
    if size is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    e = {k: v for k, v in dict(os.environ, **(env or {})).items() if k not in drop}
    p = subprocess.Popen([sys.executable, "-m", "vlmselect", *args], stdout=slave, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=e)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert p.stderr is not None
    assert p.wait(timeout=120) == 0, p.stderr.read().decode()
    return b"".join(chunks).decode("utf-8", "replace")
