from alertrouter.cli.main import main

main()
