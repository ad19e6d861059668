"""Wall time and peak memory of `vlmselect recommend` against the floor of any typer CLI.

The floor is a minimal typer program (one command, two options, printing one line) run by the
same interpreter. Runs alternate so that machine noise hits both alike. Prints medians and ratios;
asserts nothing (these machines are shared and noisy).

With `--instructions` (needs valgrind) it also counts the instructions each program executes
(callgrind, PYTHONHASHSEED=0): a figure the machine's load does not move, for comparing changes.
Instructions overstate the wall ratio, since part of every process's time is the kernel's.

    .venv/bin/python benchmarks/startup.py [--runs 21] [--instructions]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FLOOR = '''
import typer

app = typer.Typer()


@app.command()
def main(name: str = "world", count: int = 1):
    print(f"hello {name} x{count}")


if __name__ == "__main__":
    app()
'''

CMD = ["-m", "vlmselect", "recommend", "--task", "ocr", "--gpu", "RTX 3090", "--json"]
# As an installed tool runs: bytecode cached (pip compiles it at install). Some sandboxes set
# PYTHONDONTWRITEBYTECODE, which would make every run recompile vlmselect from source.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(argv: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, CPU seconds) of one child process."""
    start = time.perf_counter()
    pid = os.posix_spawn(sys.executable, [sys.executable, *argv], ENV,
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # Linux reports KiB


def instructions(argv: list[str]) -> int:
    """Instructions one run of `python argv` executes, as valgrind's callgrind counts them."""
    env = {**ENV, "PYTHONHASHSEED": "0"}
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, *argv],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    found = re.search(r"refs:\s+([\d,]+)", out.stderr)
    if not found:
        raise SystemExit("valgrind printed no instruction count")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--instructions", action="store_true", help="also count instructions with valgrind")
    args = ap.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(FLOOR)
        floor = [f.name, "--name", "x", "--count", "2"]
    measure(CMD)  # warm the file cache and .pyc files
    measure(floor)
    ours, base = [], []
    for _ in range(args.runs):
        ours.append(measure(CMD))
        base.append(measure(floor))
    if args.instructions:
        if shutil.which("valgrind") is None:
            raise SystemExit("--instructions needs valgrind")
        i_ours, i_base = instructions(CMD), instructions(floor)
    os.unlink(f.name)
    t_ours = statistics.median(r[0] for r in ours)
    t_base = statistics.median(r[0] for r in base)
    m_ours = statistics.median(r[1] for r in ours)
    m_base = statistics.median(r[1] for r in base)
    c_ours = statistics.median(r[2] for r in ours)
    c_base = statistics.median(r[2] for r in base)
    print(f"runs: {args.runs} each, alternating; python {sys.version.split()[0]}")
    print(f"typer floor:          {t_base * 1000:7.1f} ms wall  {c_base * 1000:7.1f} ms CPU  {m_base:6.1f} MiB peak RSS")
    print(f"vlmselect recommend:  {t_ours * 1000:7.1f} ms wall  {c_ours * 1000:7.1f} ms CPU  {m_ours:6.1f} MiB peak RSS")
    print(f"ratio (time):   {t_ours / t_base:5.2f}x wall, {c_ours / c_base:5.2f}x CPU   (goal <= 1.25x)")
    print(f"ratio (memory): {m_ours / m_base:5.2f}x   (goal <= 45 MiB absolute: {'met' if m_ours <= 45 else 'not met'})")
    if args.instructions:
        print(f"instructions:   {i_base / 1e6:,.0f}M floor, {i_ours / 1e6:,.0f}M recommend: {i_ours / i_base:5.2f}x")


if __name__ == "__main__":
    main()
