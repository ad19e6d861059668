from vlmselect.cli import run

run()
