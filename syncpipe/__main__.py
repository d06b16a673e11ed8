from syncpipe.cli.main import main

main()
