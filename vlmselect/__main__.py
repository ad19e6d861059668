from vlmselect.entry import run

run()
