"""Thread safety without locks, and timing of sync and async code."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from watchkeeper.metrics import CollectorRegistry, Counter, Gauge, Histogram, Summary

THREADS = 8
PER_THREAD = 100_000


def _hammer(work):
    """Every thread runs ``work`` PER_THREAD times, with the GIL handed over as often as
    the interpreter allows, so any unsafe read-modify-write would lose updates."""
    start = threading.Barrier(THREADS)

    def run():
        start.wait()
        for _ in range(PER_THREAD):
            work()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)


def test_eight_threads_lose_no_increment():
    reg = CollectorRegistry()
    c = Counter("c", "C", registry=reg)
    _hammer(c.inc)
    assert reg.get_sample_value("c_total") == THREADS * PER_THREAD


def test_eight_threads_on_labels_children_and_histograms():
    reg = CollectorRegistry()
    c = Counter("c", "C", ["a"], registry=reg)
    h = Histogram("h", "H", registry=reg)
    s = Summary("s", "S", registry=reg)

    def work():
        c.labels("x").inc()
        h.observe(0.3)
        s.observe(1.0)

    _hammer(work)
    total = THREADS * PER_THREAD
    assert reg.get_sample_value("c_total", {"a": "x"}) == total
    assert reg.get_sample_value("h_count") == total
    assert reg.get_sample_value("h_bucket", {"le": "0.5"}) == total
    assert reg.get_sample_value("s_count") == total
    assert reg.get_sample_value("s", {"quantile": "0.5"}) == 1.0


def test_sync_timer_decorator_and_context_manager():
    reg = CollectorRegistry()
    h = Histogram("h", "H", registry=reg)

    @h.time()
    def work(x):
        return x * 2

    assert work(2) == 4
    assert work.__name__ == "work"
    with h.time() as t:
        pass
    assert t.duration is not None and t.duration >= 0
    assert reg.get_sample_value("h_count") == 2


def test_timer_labels_chosen_inside_the_block():
    reg = CollectorRegistry()
    h = Histogram("h", "H", ["outcome"], registry=reg)
    with h.time() as t:
        t.labels("ok")
    assert reg.get_sample_value("h_count", {"outcome": "ok"}) == 1


def test_async_timing_covers_the_whole_coroutine():
    reg = CollectorRegistry()
    h = Histogram("h", "H", buckets=[0.05, 10], registry=reg)
    s = Summary("s", "S", registry=reg)
    g = Gauge("inprogress", "I", registry=reg)
    seen = []

    @h.time()
    @s.time()
    @g.track_inprogress()
    async def slow():
        seen.append(reg.get_sample_value("inprogress"))
        await asyncio.sleep(0.1)
        return "done"

    assert asyncio.iscoroutinefunction(slow)
    assert asyncio.run(slow()) == "done"
    assert seen == [1.0]
    assert reg.get_sample_value("inprogress") == 0
    # The coroutine slept 0.1 s: it must not be counted in the 0.05 s bucket.
    assert reg.get_sample_value("h_bucket", {"le": "0.05"}) == 0
    assert reg.get_sample_value("h_count") == 1
    assert reg.get_sample_value("s_sum") >= 0.1


def test_async_with_and_count_exceptions():
    reg = CollectorRegistry()
    h = Histogram("h", "H", registry=reg)
    errors = Counter("errors", "E", registry=reg)

    @errors.count_exceptions(ValueError)
    async def failing():
        await asyncio.sleep(0)
        raise ValueError("boom")

    @errors.count_exceptions()
    def failing_sync():
        raise KeyError("x")

    async def main():
        async with h.time():
            await asyncio.sleep(0.01)
        with pytest.raises(ValueError):
            await failing()

    asyncio.run(main())
    with pytest.raises(KeyError):
        failing_sync()
    with errors.count_exceptions(TypeError), pytest.raises(KeyError):
        raise KeyError("not counted")
    assert reg.get_sample_value("h_count") == 1
    assert reg.get_sample_value("errors_total") == 2
