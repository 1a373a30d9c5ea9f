from alertrouter.cli import main

main()
