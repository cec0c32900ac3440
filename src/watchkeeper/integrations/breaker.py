"""A circuit breaker for sync and asyncio code that exports its state, calls and rates.

    @watchkeeper.circuit_breaker(name="payments", failure_threshold=5, open_seconds=30)
    def charge(order): ...

    breaker = watchkeeper.CircuitBreaker("search", window="time", window_size=60,
                                         minimum_calls=20, failure_rate_threshold=0.5)
    async with breaker:
        await search()

Policies (any of them opens the breaker): ``failure_threshold`` consecutive failures;
a failure rate of ``failure_rate_threshold`` or more over a ``window`` of the last
``window_size`` calls (``"count"``) or seconds (``"time"``) once it holds
``minimum_calls``; a slow-call rate (calls of ``slow_call_duration`` seconds or more) of
``slow_call_rate_threshold`` or more. Open, it rejects calls (``CircuitOpenError``, or the
``fallback``'s answer) for ``open_seconds``, multiplied by ``open_backoff`` each time it
reopens without closing in between (up to ``max_open_seconds``); then it lets
``half_open_calls`` probes through: all succeed and it closes, one fails and it reopens.
``expected_exception`` says which errors count as failures; ``exclude`` lists ones that
never do (they count as ``ignored``). With ``shared=RedisBreakerState(client)`` workers
agree on the state through Redis.

Why this shape: the closed path is the hot one, so it is one attribute test, two clock
reads and a few integer additions; the thread lock is taken only on failures and state
changes, and never across an ``await``. Metrics: ``breaker_stats``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from inspect import isawaitable
from time import monotonic, perf_counter
from typing import Any

from .breaker_stats import BREAKERS

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
SAMPLE_EVERY = 8


class CircuitOpenError(Exception):
    """Raised instead of calling through an open (or saturated half-open) breaker."""

    def __init__(self, name: str, remaining: float) -> None:
        super().__init__(f"circuit breaker {name!r} is open ({remaining:.1f}s remaining)")
        self.name = name
        self.remaining = remaining


class CircuitBreaker:
    """One named breaker; usable as a decorator, ``with``/``async with`` block, or ``call``."""

    __slots__ = (
        "__weakref__",
        "_base",
        "_clock",
        "_closed",
        "_consecutive",
        "_dn",
        "_ds",
        "_entered",
        "_fails",
        "_fast_below",
        "_lock",
        "_mask",
        "_next_pull",
        "_open_until",
        "_opens",
        "_permits",
        "_probe_ok",
        "_slow",
        "_slows",
        "_state",
        "_stats",
        "_succ_mark",
        "_times",
        "_version",
        "exclude",
        "expected_exception",
        "failure_rate_threshold",
        "failure_threshold",
        "fallback",
        "half_open_calls",
        "max_open_seconds",
        "minimum_calls",
        "name",
        "open_backoff",
        "open_seconds",
        "shared",
        "slow_call_duration",
        "slow_call_rate_threshold",
        "window",
        "window_size",
    )

    def __init__(self, name: str, *, failure_threshold: int | None = 5,
                 window: str | None = "count", window_size: int = 100,
                 minimum_calls: int = 10, failure_rate_threshold: float | None = 0.5,
                 slow_call_duration: float | None = None,
                 slow_call_rate_threshold: float = 1.0, half_open_calls: int = 1,
                 open_seconds: float = 30.0, open_backoff: float = 2.0,
                 max_open_seconds: float = 600.0,
                 expected_exception: type[BaseException] | tuple = Exception,
                 exclude: tuple[type[BaseException], ...] = (),
                 fallback: Callable[..., Any] | None = None, shared: Any = None) -> None:
        if window not in (None, "count", "time"):
            raise ValueError(f"window must be 'count', 'time' or None, not {window!r}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.window = window
        self.window_size = max(1, int(window_size))
        self.minimum_calls = max(1, int(minimum_calls))
        self.failure_rate_threshold = failure_rate_threshold
        self.slow_call_duration = slow_call_duration
        self._slow = slow_call_duration if slow_call_duration is not None else float("inf")
        # below this a success takes the fast path (never, with a time window to feed)
        self._fast_below = self._slow if window != "time" else -1.0
        # closed and untimed: one call in SAMPLE_EVERY is timed (its duration counted that
        # many times); every call is timed when a slow-call policy or time window needs it
        self._mask = SAMPLE_EVERY - 1 if self._fast_below == float("inf") else 0
        self.slow_call_rate_threshold = slow_call_rate_threshold
        self.half_open_calls = max(1, int(half_open_calls))
        self.open_seconds = open_seconds
        self.open_backoff = open_backoff
        self.max_open_seconds = max_open_seconds
        self.expected_exception = expected_exception
        self.exclude = tuple(exclude)
        self.fallback = fallback
        self.shared = shared
        self._clock = monotonic if shared is None else shared.clock
        self._lock = threading.Lock()
        self._stats = s = BREAKERS.stats(name)
        s.failure_rate = self.failure_rate
        s.slow_rate = self.slow_call_rate
        s.failure_threshold = failure_rate_threshold or 1.0
        self._dn, self._ds = s.durations["success"], s.durations["failure"]
        self._state = CLOSED
        self._closed = shared is None  # the fast path: closed and nothing to consult
        self._consecutive = 0
        self._succ_mark = -1  # successes seen at the last failure: consecutive failures
        self._opens = 0
        self._open_until = 0.0
        self._permits = self._probe_ok = 0
        self._version = 0
        self._next_pull = 0.0
        # count window: calls (successes + failures) at the last close, and the call
        # numbers of recent failures / slow calls
        self._base = 0
        self._fails: deque[float] = deque()
        self._slows: deque[float] = deque()
        self._times: deque[float] = deque()  # time window: every call's time
        self._entered: ContextVar[tuple[float, bool] | None] = ContextVar(f"cb_{name}",
                                                                          default=None)
        if shared is not None:
            self._pull(force=True)

    # -- figures ---------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def _window_calls(self) -> tuple[int, float]:
        """(calls in the window, the oldest call mark still inside it)."""
        if self.window == "time":
            edge = monotonic() - self.window_size
            times = self._times
            while times and times[0] < edge:
                times.popleft()
            return len(times), edge
        total = self._dn[0] + self._ds[0]
        return min(total - self._base, self.window_size), total - self.window_size

    def _rate(self, marks: deque[float]) -> float:
        n, edge = self._window_calls()
        while marks and marks[0] <= edge:
            marks.popleft()
        if n < self.minimum_calls:
            return -1.0
        return min(1.0, len(marks) / n)

    def failure_rate(self) -> float:
        """Failures over the calls in the window, or -1 below ``minimum_calls``."""
        with self._lock:
            return self._rate(self._fails)

    def slow_call_rate(self) -> float:
        with self._lock:
            return self._rate(self._slows)

    # -- transitions (under the lock) -----------------------------------------------
    def _to(self, new: str, now: float) -> None:
        old = self._state
        if new == OPEN:
            self._opens += 1
            span = self.open_seconds * self.open_backoff ** (self._opens - 1)
            self._open_until = now + min(span, self.max_open_seconds)
        elif new == HALF_OPEN:
            self._permits, self._probe_ok = self.half_open_calls, 0
        else:
            self._opens = 0
            self._consecutive = 0
            self._succ_mark = -1
            self._base = self._dn[0] + self._ds[0]
            self._fails.clear()
            self._slows.clear()
            self._times.clear()
        self._state = new
        self._closed = new == CLOSED and self.shared is None
        self._stats.transition(old, new)
        if self.shared is not None:
            self._version = self.shared.write(self.name, new, self._open_until, self._opens)

    def _pull(self, force: bool = False) -> None:
        now = self._clock()
        if not force and now < self._next_pull:
            return
        self._next_pull = now + self.shared.refresh
        got = self.shared.read(self.name)
        if got is None or got[3] <= self._version:
            return
        state, until, opens, version = got
        old = self._state
        self._state, self._open_until, self._opens, self._version = state, until, opens, version
        if state == HALF_OPEN:
            self._permits, self._probe_ok = self.half_open_calls, 0
        self._stats.transition(old, state)

    def _admit(self) -> bool:
        """Whether a call may go through now; ``True`` when it is a half-open probe."""
        with self._lock:
            if self.shared is not None:
                self._pull()
            state = self._state
            if state == CLOSED:
                return False
            now = self._clock()
            if state == OPEN and now >= self._open_until:
                self._to(HALF_OPEN, now)
                state = HALF_OPEN
            if state == HALF_OPEN and self._permits > 0:
                self._permits -= 1
                return True
            self._stats.calls["rejected"] += 1
            raise CircuitOpenError(self.name, max(0.0, self._open_until - now))

    # -- outcomes --------------------------------------------------------------------
    def _record(self, seconds: float, error: BaseException | None, probe: bool) -> bool:
        """Count one call; returns whether it counted as a failure."""
        if error is not None and (isinstance(error, self.exclude)
                                  or not isinstance(error, self.expected_exception)):
            d = self._stats.durations["ignored"]
            d[0] += 1
            d[1] += seconds
            return False
        failed = error is not None
        if not failed and not probe and seconds < self._fast_below:
            self._dn[0] += 1
            self._dn[1] += seconds
            return False
        d = self._ds if failed else self._dn
        d[0] += 1
        d[1] += seconds
        slow = seconds >= self._slow
        with self._lock:
            now = self._clock()
            mark: float = self._dn[0] + self._ds[0]
            if self.window == "time":
                mark = monotonic()
                self._times.append(mark)
            if failed:
                self._fails.append(mark)
                # consecutive unless a success came in between (successes never touch it)
                succ = self._dn[0]
                self._consecutive = self._consecutive + 1 if succ == self._succ_mark else 1
                self._succ_mark = succ
            if slow:
                self._slows.append(mark)
            if probe and self._state == HALF_OPEN:
                if failed or slow:
                    self._to(OPEN, now)
                else:
                    self._probe_ok += 1
                    if self._probe_ok >= self.half_open_calls:
                        self._to(CLOSED, now)
            elif self._state == CLOSED and self._should_open():
                self._to(OPEN, now)
        return failed

    def _should_open(self) -> bool:
        if self.failure_threshold is not None and self._consecutive >= self.failure_threshold:
            return True
        if self.window is None:
            return False
        if (self.failure_rate_threshold is not None and self._fails
                and self._rate(self._fails) >= self.failure_rate_threshold):
            return True
        if self.slow_call_duration is not None and self._slows:
            return self._rate(self._slows) >= self.slow_call_rate_threshold
        return False

    def _fall(self, args: tuple, kwargs: dict) -> Any:
        self._stats.calls["fallback"] += 1
        return self.fallback(*args, **kwargs)  # type: ignore[misc]

    # -- ways to call ----------------------------------------------------------------
    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        probe = False
        if not self._closed:
            try:
                probe = self._admit()
            except CircuitOpenError:
                if self.fallback is None:
                    raise
                return self._fall(args, kwargs)
        t0 = perf_counter()
        try:
            result = func(*args, **kwargs)
        except BaseException as e:
            if self._record(perf_counter() - t0, e, probe) and self.fallback is not None:
                return self._fall(args, kwargs)
            raise
        self._record(perf_counter() - t0, None, probe)
        return result

    async def call_async(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        probe = False
        if not self._closed:
            try:
                probe = self._admit()
            except CircuitOpenError:
                if self.fallback is None:
                    raise
                out = self._fall(args, kwargs)
                return await out if isawaitable(out) else out
        t0 = perf_counter()
        try:
            result = await func(*args, **kwargs)
        except BaseException as e:
            if self._record(perf_counter() - t0, e, probe) and self.fallback is not None:
                out = self._fall(args, kwargs)
                return await out if isawaitable(out) else out
            raise
        self._record(perf_counter() - t0, None, probe)
        return result

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        from .breaker_wrap import wrap

        return wrap(self, func)

    def __enter__(self) -> CircuitBreaker:
        probe = False if self._closed else self._admit()
        self._entered.set((perf_counter(), probe))
        return self

    def __exit__(self, etype: Any, exc: BaseException | None, tb: Any) -> None:
        entered = self._entered.get()
        if entered is not None:
            self._entered.set(None)
            self._record(perf_counter() - entered[0], exc, entered[1])

    async def __aenter__(self) -> CircuitBreaker:
        return self.__enter__()

    async def __aexit__(self, etype: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(etype, exc, tb)

    def reset(self) -> None:
        """Close the breaker now (an operator's override)."""
        with self._lock:
            self._to(CLOSED, self._clock())


def circuit_breaker(func: Callable[..., Any] | None = None, *, name: str | None = None,
                    **options: Any) -> Any:
    """``@circuit_breaker(name="payments", ...)`` (options as :class:`CircuitBreaker`);
    without a name the function's qualified name is used. The wrapper's ``.breaker`` is
    the breaker, for ``reset()`` or its state."""
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        return CircuitBreaker(name or f.__qualname__, **options)(f)

    return decorate(func) if func is not None else decorate
