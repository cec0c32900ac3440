"""Metrics for breakers an application already has: pybreaker and circuitbreaker.

    instrument_pybreaker(pybreaker.CircuitBreaker(fail_max=5), name="payments")
    instrument_circuitbreaker(my_circuitbreaker_instance, name="search")

Both export the same series as ``watchkeeper.CircuitBreaker`` (``breaker_stats``); rates
are over the last ``window_size`` calls with ``minimum_calls`` (those libraries count
only consecutive failures, so the rate here is what they would not tell you).
"""

from __future__ import annotations

from collections import deque
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from .breaker_stats import BREAKERS, BreakerStats

_STATE_NAMES = {"closed": "closed", "open": "open", "half-open": "half_open",
                "half_open": "half_open"}


class _Window:
    """The last ``size`` outcomes (True for failure) for the failure-rate gauge."""

    def __init__(self, stats: BreakerStats, size: int, minimum: int) -> None:
        self.calls: deque[bool] = deque(maxlen=size)
        self.minimum = minimum
        stats.failure_rate = self.rate

    def rate(self) -> float:
        calls = list(self.calls)
        return -1.0 if len(calls) < self.minimum else sum(calls) / len(calls)


def instrument_pybreaker(breaker: Any, name: str | None = None, *, window_size: int = 100,
                         minimum_calls: int = 10) -> Any:
    """Add a listener to a ``pybreaker.CircuitBreaker``; returns the breaker."""
    import pybreaker

    stats = BREAKERS.stats(name or breaker.name or "pybreaker")
    window = _Window(stats, window_size, minimum_calls)
    started: ContextVar[float] = ContextVar("pybreaker_started", default=0.0)
    stats.state = _STATE_NAMES.get(str(breaker.current_state), "closed")

    class Listener(pybreaker.CircuitBreakerListener):
        def before_call(self, cb: Any, func: Any, *args: Any, **kwargs: Any) -> None:
            started.set(perf_counter())

        def success(self, cb: Any) -> None:
            d = stats.durations["success"]
            d[0] += 1
            d[1] += perf_counter() - started.get()
            window.calls.append(False)

        def failure(self, cb: Any, exc: BaseException) -> None:
            d = stats.durations["failure"]
            d[0] += 1
            d[1] += perf_counter() - started.get()
            window.calls.append(True)

        def state_change(self, cb: Any, old: Any, new: Any) -> None:
            stats.transition(_STATE_NAMES.get(str(old and old.name), stats.state),
                             _STATE_NAMES.get(str(new.name), "closed"))

    breaker.add_listener(Listener())
    original = breaker.call

    def call(func: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(func, *args, **kwargs)
        except pybreaker.CircuitBreakerError:
            if started.get() == 0.0 or stats.state == "open":
                stats.calls["rejected"] += 1
            raise
        finally:
            started.set(0.0)

    breaker.call = call
    return breaker


def instrument_circuitbreaker(breaker: Any, name: str | None = None, *,
                              window_size: int = 100, minimum_calls: int = 10) -> Any:
    """Give a ``circuitbreaker.CircuitBreaker`` instance metrics (its class is swapped for
    a subclass that counts, so its decorated functions count too); returns it."""
    stats = BREAKERS.stats(name or breaker.name or "circuitbreaker")
    window = _Window(stats, window_size, minimum_calls)
    started: ContextVar[float] = ContextVar("circuitbreaker_started", default=0.0)
    base = type(breaker)

    def sync_state() -> None:
        stats.transition(stats.state, _STATE_NAMES.get(str(base.state.fget(breaker)),
                                                       "closed"))

    class Counted(base):  # type: ignore[misc, valid-type]
        @property
        def opened(self) -> bool:
            sync_state()
            is_open = base.opened.fget(self)
            if is_open:
                stats.calls["rejected"] += 1
                if self.fallback_function:
                    stats.calls["fallback"] += 1
            return is_open

        def __enter__(self) -> Any:
            started.set(perf_counter())
            return base.__enter__(self)

        def __exit__(self, etype: Any, exc: Any, tb: Any) -> Any:
            seconds = perf_counter() - started.get()
            failed = bool(etype and self.is_failure(etype, exc))
            outcome = "failure" if failed else ("ignored" if etype else "success")
            d = stats.durations[outcome]
            d[0] += 1
            d[1] += seconds
            if outcome != "ignored":
                window.calls.append(failed)
            try:
                return base.__exit__(self, etype, exc, tb)
            finally:
                sync_state()

    Counted.__name__ = base.__name__
    breaker.__class__ = Counted
    return breaker
