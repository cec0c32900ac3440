import asyncio
import threading

import pytest

from watchkeeper import health
from watchkeeper.health import CheckError, Runner, Status, function_check
from watchkeeper.health.model import CheckResult, Outcome, overall_status


def make(func, **kw):
    return function_check(func, **kw)


def test_plain_and_async_checks_return_results_with_name_duration_and_time():
    def plain():
        return health.healthy("all good", observed_value=3, observed_unit="things")

    async def coro():
        await asyncio.sleep(0)
        return "degraded"

    runner = Runner([make(plain), make(coro, critical=False)])
    by_name = {r.name: r for r in runner.run_sync()}
    assert by_name["plain"].status is Status.HEALTHY
    assert by_name["plain"].details == "all good"
    assert by_name["plain"].observed_value == 3
    assert by_name["coro"].status is Status.DEGRADED
    assert by_name["coro"].critical is False
    for r in by_name.values():
        assert r.duration >= 0 and r.timestamp > 0


def test_hung_checks_time_out_without_delaying_the_others():
    release = threading.Event()

    def hangs():
        release.wait(30)

    async def hangs_async():
        await asyncio.sleep(30)

    def quick():
        return True

    runner = Runner([make(hangs, timeout=0.3), make(hangs_async, timeout=0.2), make(quick)])
    try:
        results = {r.name: r for r in runner.run_sync()}
    finally:
        release.set()
    assert results["hangs"].status is Status.UNHEALTHY
    assert results["hangs"].details == "timed out after 0.3 s"
    assert results["hangs_async"].details == "timed out after 0.2 s"
    assert results["quick"].status is Status.HEALTHY
    quick_done = results["quick"].timestamp + results["quick"].duration
    assert quick_done < results["hangs"].timestamp + results["hangs"].duration


def test_a_check_still_hanging_from_its_last_run_is_not_started_again():
    release = threading.Event()
    starts = []

    def hangs():
        starts.append(1)
        release.wait(30)

    runner = Runner([make(hangs, timeout=0.1)])
    try:
        runner.run_sync()
        second = runner.run_sync()[0]
    finally:
        release.set()
    assert len(starts) == 1
    assert second.status is Status.UNHEALTHY
    assert "previous run still hanging" in second.details


def test_a_raising_check_is_unhealthy_with_the_error_not_a_traceback():
    def broken():
        raise RuntimeError("disk on fire")

    def explained():
        raise CheckError("the queue is gone")

    def wrong_type():
        return 42

    runner = Runner([make(broken), make(explained), make(wrong_type)])
    results = {r.name: r for r in runner.run_sync()}
    assert results["broken"].status is Status.UNHEALTHY
    assert results["broken"].details == "RuntimeError: disk on fire"
    assert results["explained"].details == "the queue is gone"
    assert "TypeError" in results["wrong_type"].details


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([("a", "healthy", True), ("b", "healthy", False)], Status.HEALTHY),
        ([("a", "healthy", True), ("b", "unhealthy", False)], Status.DEGRADED),
        ([("a", "degraded", True), ("b", "healthy", False)], Status.DEGRADED),
        ([("a", "unhealthy", True), ("b", "degraded", False)], Status.UNHEALTHY),
        ([], Status.HEALTHY),
    ],
)
def test_overall_status_rules(statuses, expected):
    results = [CheckResult(n, Status(s), critical=c) for n, s, c in statuses]
    assert overall_status(results) is expected


@pytest.mark.parametrize(
    ("value", "status"),
    [(None, Status.HEALTHY), (True, Status.HEALTHY), (False, Status.UNHEALTHY),
     ("warn", Status.DEGRADED), ("DOWN", Status.UNHEALTHY), (Status.DEGRADED, Status.DEGRADED),
     (("unhealthy", "why"), Status.UNHEALTHY)],
)
def test_outcome_coerces_what_custom_checks_return(value, status):
    assert Outcome.coerce(value).status is status


def test_decorator_registers_on_a_runner_and_keeps_the_function():
    runner = Runner()

    @health.check(runner=runner, timeout=1, critical=False, interval=5)
    def queue_depth():
        return health.degraded("123 messages waiting")

    @health.check(runner=runner)
    async def cache():
        return True

    assert queue_depth().status is Status.DEGRADED  # still callable as before
    [q, c] = runner.checks()
    assert (q.name, q.timeout, q.critical, q.interval) == ("queue_depth", 1.0, False, 5.0)
    assert c.name == "cache"
    with pytest.raises(ValueError, match="already registered"):
        runner.add(function_check(cache))


def test_invalid_names_and_timeouts_are_rejected():
    with pytest.raises(ValueError, match="invalid check name"):
        function_check(lambda: True, name="no spaces please")
    with pytest.raises(ValueError, match="timeout must be > 0"):
        function_check(lambda: True, name="ok", timeout=0)


def test_background_scheduling_caches_results_and_refresh_is_rate_limited():
    calls = []

    def counted():
        calls.append(1)
        return True

    runner = Runner([make(counted, interval=3600)], fresh_interval=3600)
    try:
        runner.start()
        first = runner.refresh(force=True).result(timeout=10)
        assert [r.status for r in first] == [Status.HEALTHY]
        n = len(calls)
        assert n >= 1
        # within the rate limit, a refresh answers from the cache without running
        cached = runner.refresh().result(timeout=10)
        assert len(calls) == n
        assert cached[0] is runner.latest()["counted"]
    finally:
        runner.stop()


def test_concurrent_refreshes_share_one_run():
    gate = threading.Event()
    calls = []

    def slow():
        calls.append(1)
        gate.wait(10)
        return True

    runner = Runner([make(slow, interval=3600)], fresh_interval=0)
    try:
        runner.start()
        # let the scheduled first run finish
        runner.refresh(force=True)
        gate.set()
        runner.refresh(force=True).result(timeout=10)
        gate.clear()
        before = len(calls)
        a = runner.refresh(force=True)
        b = runner.refresh(force=True)
        assert a is b
        gate.set()
        a.result(timeout=10)
        assert len(calls) == before + 1
    finally:
        gate.set()
        runner.stop()


def test_history_counts_changes_and_failures():
    state = {"status": "healthy"}
    runner = Runner([make(lambda: state["status"], name="flappy")])
    for s in ["healthy", "unhealthy", "healthy", "unhealthy", "healthy", "healthy"]:
        state["status"] = s
        runner.run_sync()
    history = runner.history("flappy")
    assert history.runs == 6
    assert history.failures == 2
    assert history.changes_within(3600) == 4
    assert history.is_flapping(window=3600, threshold=4)
    assert not history.is_flapping(window=3600, threshold=5)
    assert [r.status for r in history.results()][-2:] == [Status.HEALTHY, Status.HEALTHY]
    assert history.last_change == history.results()[-2].timestamp


def test_history_is_bounded():
    runner = Runner([make(lambda: True, name="x")], history_size=3)
    for _ in range(5):
        runner.run_sync()
    assert len(runner.history("x").results()) == 3
    assert runner.history("x").runs == 5


def test_a_timeout_error_raised_by_the_check_itself_keeps_its_message():
    def driver_gave_up():
        raise TimeoutError("read from 10.0.0.1 timed out")

    result = Runner([make(driver_gave_up, timeout=5)]).run_sync()[0]
    assert result.status is Status.UNHEALTHY
    assert result.details == "TimeoutError: read from 10.0.0.1 timed out"


def test_any_object_with_the_protocol_is_a_check():
    class QueueDepth:
        name, timeout, critical, interval = "queue", 1.0, False, 10.0

        def __init__(self):
            self.depth = 250

        def check(self):
            if self.depth > 100:
                return health.degraded(f"{self.depth} waiting", observed_value=self.depth)
            return health.healthy()

    assert isinstance(QueueDepth(), health.HealthCheck)
    result = Runner([QueueDepth()]).run_sync()[0]
    assert (result.name, result.status, result.observed_value) == \
        ("queue", Status.DEGRADED, 250)


def test_async_code_awaits_run_and_is_told_so_if_it_calls_run_sync():
    runner = Runner([make(lambda: True, name="x")])

    async def main():
        results = await runner.run()
        with pytest.raises(RuntimeError, match=r"await runner\.run\(\)"):
            runner.run_sync()
        return results

    assert asyncio.run(main())[0].status is Status.HEALTHY
