from watchkeeper.cli.main import run

run()
