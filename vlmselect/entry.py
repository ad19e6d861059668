"""The process entry: the `vlmselect` script and `python -m vlmselect`.

A run imports typer, pydantic and the catalog (tens of thousands of objects) and frees nearly
everything by reference counting; the cyclic collector's young-generation passes over those
objects were about 3 % of a `recommend` start. The collector is tuned before the first import,
so it runs rarer passes (not none: a long `bench` or `smoke` still collects its cycles), and
gc.freeze() then leaves the imported modules out of every later pass, including the full pass at
exit. Tests call cli.main() in-process, with the interpreter's defaults.
"""

import gc

# Young-generation pass every 50,000 net container allocations (CPython's default: 700); the
# older generations keep their ratios to it. Measured: `benchmarks/startup.py`.
GC_THRESHOLDS = (50_000, 20, 20)


def run() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    from vlmselect.cli import main

    gc.freeze()
    main()
