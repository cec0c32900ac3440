"""The circuit breaker: policies, sync and asyncio, metrics, adapters and shared state."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from tests.peers import require_service

from watchkeeper.exposition import generate_latest
from watchkeeper.integrations.breaker import CircuitBreaker, CircuitOpenError, circuit_breaker
from watchkeeper.integrations.breaker_stats import BREAKERS, breaker_score


def _name() -> str:
    return "b" + uuid.uuid4().hex[:8]


def _states(name: str) -> dict[str, float]:
    text = generate_latest().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("circuit_breaker_state{") and f'name="{name}"' in line:
            state = line.split('state="')[1].split('"')[0]
            out[state] = float(line.rsplit(" ", 1)[1])
    return out


def _boom() -> None:
    raise ConnectionError("down")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_consecutive_failures_open_then_half_open_probe_closes() -> None:
    name = _name()
    b = CircuitBreaker(name, failure_threshold=3, window=None, open_seconds=10)
    clock = Clock()
    b._clock = clock
    for _ in range(3):
        with pytest.raises(ConnectionError):
            b.call(_boom)
    assert b.state == "open"
    assert _states(name) == {"closed": 0.0, "open": 1.0, "half_open": 0.0}
    with pytest.raises(CircuitOpenError):
        b.call(lambda: 1)
    clock.now += 11
    assert b.call(lambda: 7) == 7
    assert b.state == "closed"
    s = BREAKERS.stats(name)
    assert s.calls["rejected"] == 1
    assert s.durations["failure"][0] == 3 and s.durations["success"][0] == 1
    assert s.transitions == {("closed", "open"): 1, ("open", "half_open"): 1,
                             ("half_open", "closed"): 1}


def test_failed_probe_reopens_with_longer_open_time_and_gauge_follows() -> None:
    name = _name()
    b = CircuitBreaker(name, failure_threshold=1, window=None, open_seconds=10,
                       open_backoff=2.0)
    clock = Clock()
    b._clock = clock
    with pytest.raises(ConnectionError):
        b.call(_boom)
    clock.now += 10
    with pytest.raises(ConnectionError):
        b.call(_boom)  # the probe fails
    assert b.state == "open"
    assert _states(name)["open"] == 1.0 and _states(name)["half_open"] == 0.0
    assert b._open_until == pytest.approx(clock.now + 20)
    assert BREAKERS.stats(name).transitions[("half_open", "open")] == 1


def test_count_window_rate_needs_minimum_calls() -> None:
    b = CircuitBreaker(_name(), failure_threshold=None, window="count", window_size=10,
                       minimum_calls=4, failure_rate_threshold=0.5)
    b.call(lambda: 1)
    with pytest.raises(ConnectionError):
        b.call(_boom)
    assert b.failure_rate() == -1.0 and b.state == "closed"
    b.call(lambda: 1)
    with pytest.raises(ConnectionError):
        b.call(_boom)
    assert b.state == "open"


def test_time_window_and_slow_calls() -> None:
    b = CircuitBreaker(_name(), failure_threshold=None, window="time", window_size=60,
                       minimum_calls=2, failure_rate_threshold=None,
                       slow_call_duration=0.0, slow_call_rate_threshold=1.0)
    b.call(lambda: 1)
    assert b.state == "closed"
    b.call(lambda: 1)
    assert b.slow_call_rate() == 1.0 and b.state == "open"


def test_exclude_and_expected_exception_are_ignored() -> None:
    name = _name()
    b = CircuitBreaker(name, failure_threshold=1, window=None,
                       expected_exception=ConnectionError, exclude=(ConnectionResetError,))
    for exc in (KeyError("x"), ConnectionResetError()):
        with pytest.raises(type(exc)):
            b.call(lambda e=exc: (_ for _ in ()).throw(e))
    assert b.state == "closed"
    assert BREAKERS.stats(name).durations["ignored"][0] == 2


def test_fallback_answers_failures_and_rejections() -> None:
    name = _name()

    @circuit_breaker(name=name, failure_threshold=1, window=None, fallback=lambda: "cached")
    def fetch() -> str:
        raise ConnectionError

    assert fetch() == "cached"  # the failure
    assert fetch() == "cached"  # rejected
    s = BREAKERS.stats(name)
    assert s.calls["fallback"] == 2 and s.calls["rejected"] == 1
    assert fetch.breaker.state == "open"
    fetch.breaker.reset()
    assert fetch.breaker.state == "closed"


def test_asyncio_decorator_and_context_manager() -> None:
    name = _name()
    b = CircuitBreaker(name, failure_threshold=2, window=None)

    @b
    async def ok() -> int:
        await asyncio.sleep(0)
        return 1

    async def main() -> None:
        assert await asyncio.gather(*(ok() for _ in range(5))) == [1] * 5
        for _ in range(2):
            with pytest.raises(ConnectionError):
                async with b:
                    await asyncio.sleep(0)
                    raise ConnectionError
        with pytest.raises(CircuitOpenError):
            await ok()

    asyncio.run(main())
    s = BREAKERS.stats(name)
    assert s.durations["success"][0] == 5 and s.calls["rejected"] == 1


def test_score_follows_state() -> None:
    name = _name()
    b = CircuitBreaker(name, failure_threshold=1, window=None)
    assert breaker_score(BREAKERS.stats(name)).value == 100
    with pytest.raises(ConnectionError):
        b.call(_boom)
    score = breaker_score(BREAKERS.stats(name))
    assert score.value <= 30 and score.worst == "state"


def test_pybreaker_adapter_counts_and_transitions() -> None:
    import pybreaker

    from watchkeeper.integrations.breaker_adapters import instrument_pybreaker

    name = _name()
    br = instrument_pybreaker(pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60),
                              name=name)
    br.call(lambda: 1)
    for _ in range(2):
        with pytest.raises((ConnectionError, pybreaker.CircuitBreakerError)):
            br.call(_boom)
    with pytest.raises(pybreaker.CircuitBreakerError):
        br.call(lambda: 1)
    s = BREAKERS.stats(name)
    assert s.state == "open" and _states(name)["open"] == 1.0
    assert s.durations["success"][0] == 1 and s.durations["failure"][0] == 2
    assert s.calls["rejected"] >= 1


def test_circuitbreaker_adapter_counts_decorated_calls() -> None:
    import circuitbreaker

    from watchkeeper.integrations.breaker_adapters import instrument_circuitbreaker

    name = _name()
    cb = instrument_circuitbreaker(circuitbreaker.CircuitBreaker(failure_threshold=2,
                                                                 recovery_timeout=60),
                                   name=name)

    @cb
    def f(fail: bool) -> int:
        if fail:
            raise ConnectionError
        return 1

    assert f(False) == 1
    for _ in range(2):
        with pytest.raises(ConnectionError):
            f(True)
    with pytest.raises(circuitbreaker.CircuitBreakerError):
        f(False)
    s = BREAKERS.stats(name)
    assert s.state == "open" and s.calls["rejected"] == 1
    assert s.durations["failure"][0] == 2 and s.durations["success"][0] == 1


def test_state_shared_through_redis() -> None:
    host, port = require_service("redis")
    import redis

    from watchkeeper.integrations.breaker_shared import RedisBreakerState

    client = redis.Redis(host=host, port=port)
    name = _name()
    try:
        a = CircuitBreaker(name, failure_threshold=1, window=None, open_seconds=30,
                           shared=RedisBreakerState(client, refresh=0.0))
        b = CircuitBreaker(name, failure_threshold=1, window=None, open_seconds=30,
                           shared=RedisBreakerState(client, refresh=0.0))
        with pytest.raises(ConnectionError):
            a.call(_boom)
        with pytest.raises(CircuitOpenError):
            b.call(lambda: 1)  # the other worker sees it open
        assert b.state == "open"
        a.reset()
        assert b.call(lambda: 2) == 2 and b.state == "closed"
    finally:
        client.delete("watchkeeper:breaker:" + name)
        client.close()


OTHER_WORKER = """
import sys
from watchkeeper.integrations.breaker import CircuitBreaker, CircuitOpenError
from watchkeeper.integrations.breaker_shared import FileBreakerState
b = CircuitBreaker(sys.argv[2], failure_threshold=1, window=None, open_seconds=30,
                   shared=FileBreakerState(sys.argv[1], refresh=0.0))
try:
    b.call(lambda: 1)
    print("called")
except CircuitOpenError:
    print(b.state)
b.reset()  # this worker closes it again, for everyone
"""


def test_state_shared_through_files_between_processes(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from watchkeeper.integrations.breaker_shared import FileBreakerState

    name = _name() + " / any:name"
    a = CircuitBreaker(name, failure_threshold=1, window=None, open_seconds=30,
                       shared=FileBreakerState(tmp_path, refresh=0.0))
    with pytest.raises(ConnectionError):
        a.call(_boom)
    record = FileBreakerState(tmp_path).read(name)
    assert record is not None and record[0] == "open" and record[3] == 1
    other = subprocess.run([sys.executable, "-c", OTHER_WORKER, str(tmp_path), name],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "open"  # the other process saw it open and refused
    assert a.call(lambda: 2) == 2 and a.state == "closed"  # and its reset reached this one
    assert FileBreakerState(tmp_path).read(name)[::3] == ("closed", 2)  # two transitions
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_file_state_defaults_to_the_multiprocess_directory(tmp_path, monkeypatch) -> None:
    from watchkeeper.integrations.breaker_shared import FileBreakerState

    monkeypatch.delenv("WATCHKEEPER_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with pytest.raises(ValueError):
        FileBreakerState()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert FileBreakerState().directory == str(tmp_path / "breakers")
    assert FileBreakerState().read("nothing yet") is None


def test_a_success_between_failures_breaks_the_run_and_counts_stay_exact() -> None:
    name = _name()
    state = {"fail": False}

    @circuit_breaker(name=name, failure_threshold=2, window=None)
    def f() -> int:
        if state["fail"]:
            raise ConnectionError
        return 1

    for fail in (True, False, True, False, False):
        state["fail"] = fail
        try:
            f()
        except ConnectionError:
            pass
    assert f.breaker.state == "closed"
    for _ in range(20):
        f()
    s = BREAKERS.stats(name)
    assert s.durations["success"][0] == 23 and s.durations["failure"][0] == 2
    assert s.durations["success"][1] > 0  # sampled calls carry the sum
    state["fail"] = True
    for _ in range(2):
        with pytest.raises(ConnectionError):
            f()
    assert f.breaker.state == "open"
