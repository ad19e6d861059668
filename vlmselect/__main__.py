from vlmselect.cli import main

main()
