import pytest

from watchkeeper.health import Runner, function_check


class Switchboard:
    """Checks whose statuses a test sets, and a count of how often each ran."""

    def __init__(self):
        self.status = {"db": "healthy", "cache": "healthy"}
        self.runs = {"db": 0, "cache": 0}

    def make(self, name, critical):
        def run():
            self.runs[name] += 1
            return self.status[name], f"{name} says {self.status[name]}"

        return function_check(run, name=name, critical=critical, interval=3600)


@pytest.fixture
def board():
    return Switchboard()


@pytest.fixture
def runner(board):
    runner = Runner([board.make("db", True), board.make("cache", False)], fresh_interval=0)
    yield runner
    runner.stop()
