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
