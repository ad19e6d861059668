"""The process entry: the `vlmselect` script and `python -m vlmselect`.

Two costs of a short run are the interpreter's, not the work's (measured with
`benchmarks/startup.py` and callgrind on `recommend --task ocr --gpu "RTX 3090" --json`):

- the cyclic garbage collector: importing typer, pydantic and the catalog makes tens of thousands
  of objects, nearly all freed by reference counting, and the collector's passes over them cost
  about 3 % of the run;
- tearing the interpreter down at exit (modules cleared one by one, three more full collections):
  about 4.5 %.

So the collector is tuned before the first import (rarer young-generation passes), gc.freeze()
leaves the imported modules out of every later pass, and the commands that only read and print
(FAST_EXIT) turn the collector off and leave with os._exit once their output is flushed: they
start no thread or subprocess, register no atexit handler and hold no temporary file
(tests/test_entry.py checks that). The others exit normally with the collector on: doctor, pull,
smoke and bench start servers, downloads and temporary files, and plan's imports register
logging's atexit flush. Tests call cli.main() in-process, with the interpreter's defaults.
"""

import gc
import os
import sys

# Young-generation pass every 50,000 net container allocations (CPython's default: 700); the
# older generations keep their ratios to it.
GC_THRESHOLDS = (50_000, 20, 20)
# Commands that read the catalog and print: nothing of theirs needs the interpreter's teardown.
FAST_EXIT = frozenset({"recommend", "estimate", "models", "show", "snippet", "catalog"})


def _exit_code(code: object) -> int:
    """What the interpreter would make of SystemExit(code)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    from vlmselect.cli import _command_in, main

    fast = _command_in(sys.argv[1:]) in FAST_EXIT and "--help" not in sys.argv
    if fast:
        gc.disable()
    gc.freeze()
    if not fast:
        main()
        return
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: started with the descriptor closed (`>&-`)
                stream.flush()
        except BrokenPipeError:  # the reader left (`| head`): as main() reports it
            code = code or 141
        except (OSError, ValueError):  # a full disk, a closed stream: nothing more can be said
            code = code or 1
    os._exit(code)
