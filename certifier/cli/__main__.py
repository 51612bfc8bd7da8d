from certifier.cli.commands import main

main()
