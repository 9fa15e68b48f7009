from tui_ae.cli import main

main()
