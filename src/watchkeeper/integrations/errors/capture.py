"""Capturing exceptions: counted at once, turned into events later, off the request path.

``capture_exception()`` computes the group (a dict lookup per frame, see ``grouping``),
adds one to ``errors_total{error_group, error_type, http_route}`` and, only when a sink is
attached (the embedded store, a server), puts the exception in a bounded queue. A daemon
thread drains the queue, builds the full events (frames, redacted locals) and hands them to
the sinks; a full queue drops the oldest and counts it, so a storm never grows memory. The
code path of a request that raises nothing is never entered: nothing is added there.

The group label is capped: the first ``max_groups`` groups get their own value, the rest
share ``_other``; a group never moves between the two, so every series stays monotonic.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any

from ..context import Work, work_name
from .grouping import components_of_exception, group_id, type_name

OTHER = "_other"
DEFAULT_MAX_GROUPS = 100
DEFAULT_QUEUE = 1000
#: Events of one group in one batch built with local variables (the rest without).
DETAILED_PER_GROUP = 10
_MARK = "__watchkeeper_error_group__"
log = logging.getLogger("watchkeeper.errors")

Sink = Callable[[list[dict[str, Any]]], None]
_user: ContextVar[str | None] = ContextVar("watchkeeper_error_user", default=None)


def set_user(user_id: str | None) -> Any:
    """The user of the current request or job (counted as "users affected", never shown
    as a label); returns a token for ``reset_user``."""
    return _user.set(None if user_id is None else str(user_id))


def reset_user(token: Any) -> None:
    _user.reset(token)


class _Pending:
    __slots__ = ("exc", "fingerprint", "route", "time", "user")

    def __init__(self, exc: BaseException, route: str, user: str | None,
                 fingerprint: Sequence[str] | None) -> None:
        self.exc = exc
        self.route = route
        self.user = user
        self.fingerprint = fingerprint
        self.time = time.time()


class ErrorCapture:
    """The process's error counts, its queue and its sinks (one instance: ``CAPTURE``)."""

    def __init__(self, max_groups: int = DEFAULT_MAX_GROUPS,
                 queue_size: int = DEFAULT_QUEUE) -> None:
        self.max_groups = max_groups
        self.admitted: set[str] = set()
        # (group label, type, route) -> the errors_total child's inc, built on first use
        self._incs: dict[tuple[str, str, str], Callable[[], None]] = {}
        self._metrics: tuple[Any, Any] | None = None
        self.queue: deque[_Pending] = deque(maxlen=queue_size)
        self.sinks: list[Sink] = []
        self.release = os.environ.get("WATCHKEEPER_RELEASE") or os.environ.get(
            "SENTRY_RELEASE")
        self.environment = os.environ.get("WATCHKEEPER_ENVIRONMENT")
        self.with_locals = True
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._at_exit = False

    # -- the hot path ------------------------------------------------------------------
    def capture(self, exc: BaseException, route: str | None = None,
                fingerprint: Sequence[str] | None = None, user: str | None = None) -> str:
        try:
            return getattr(exc, _MARK)  # the same exception seen by two hooks counts once
        except AttributeError:
            pass
        gid = group_id(components_of_exception(exc, fingerprint))
        try:
            setattr(exc, _MARK, gid)
        except (AttributeError, TypeError):
            pass
        if route is None:
            route = work_name()
        tname = type_name(type(exc))
        label = gid if gid in self.admitted else self._admit(gid)
        inc = self._incs.get((label, tname, route))
        if inc is None:
            inc = self._child(label, tname, route)
        inc()
        if self.sinks:
            queue = self.queue
            if len(queue) == queue.maxlen:
                self._metric()[1].inc()
            queue.append(_Pending(exc, route, user if user is not None else _user.get(),
                                  fingerprint))
            self._wake.set()
        return gid

    def _admit(self, gid: str) -> str:
        with self._lock:
            if gid in self.admitted:
                return gid
            if len(self.admitted) < self.max_groups:
                self.admitted.add(gid)
                return gid
        return OTHER

    def _metric(self) -> tuple[Any, Any]:
        """``errors_total`` and the dropped-events counter, on the default registry (so
        multiprocess mode sums them over workers like any counter)."""
        if self._metrics is None:
            with self._lock:
                if self._metrics is None:
                    self._metrics = self._counters()
        return self._metrics

    @staticmethod
    def _counters() -> tuple[Any, Any]:
        from ...metrics import Counter
        from ...metrics.registry import REGISTRY

        def make(registry: Any) -> tuple[Any, Any]:
            return (Counter("errors_total", "Exceptions captured, by group (the first "
                            "groups seen; later ones _other), type and route.",
                            ["error_group", "error_type", "http_route"],
                            max_label_sets=10_000, registry=registry),
                    Counter("watchkeeper_error_events_dropped_total",
                            "Error events not handed to a sink: the capture queue was full.",
                            registry=registry))

        try:
            return make(REGISTRY)
        except ValueError as e:  # the application registered these names itself
            log.warning("error counters not exported: %s", e)
            return make(None)

    def _child(self, label: str, tname: str, route: str) -> Callable[[], None]:
        inc = self._metric()[0].labels(label, tname, route).inc
        if len(self._incs) < 10_000:
            self._incs[(label, tname, route)] = inc
        return inc

    @property
    def counts(self) -> dict[tuple[str, str, str], int]:
        """(group label, type, route) -> count, as exported."""
        out = {}
        for family in self._metric()[0].collect():
            for sample in family.samples:
                if sample.name == "errors_total":
                    lab = sample.labels
                    out[(lab["error_group"], lab["error_type"], lab["http_route"])] = int(
                        sample.value)
        return out

    # -- sinks and the drain thread ----------------------------------------------------
    def add_sink(self, sink: Sink) -> None:
        """Hand every captured event (a Sentry-shaped dict) to ``sink`` in batches."""
        self.sinks.append(sink)
        self._start()
        if not self._at_exit:
            import atexit

            atexit.register(self.stop)  # what is queued at exit still reaches the sinks
            self._at_exit = True

    def remove_sink(self, sink: Sink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="watchkeeper-errors",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait(1.0)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Build and hand out what is queued now; returns how many events."""
        from .event import build_event

        pending: list[_Pending] = []
        queue = self.queue
        while queue:
            try:
                pending.append(queue.popleft())
            except IndexError:
                break
        # locals only where a store may keep the event: the last few of each group
        detailed: dict[str, int] = {}
        full = [False] * len(pending)
        for i in range(len(pending) - 1, -1, -1):
            gid = getattr(pending[i].exc, _MARK, "")
            if detailed.get(gid, 0) < DETAILED_PER_GROUP:
                detailed[gid] = detailed.get(gid, 0) + 1
                full[i] = True
        batch: list[dict[str, Any]] = []
        for p, with_locals in zip(pending, full, strict=True):
            try:
                batch.append(build_event(
                    p.exc, timestamp=p.time, route=p.route, user=p.user,
                    release=self.release, environment=self.environment,
                    fingerprint=list(p.fingerprint) if p.fingerprint else None,
                    with_locals=self.with_locals and with_locals))
            except Exception:  # an exception whose str/repr raises must not stop the rest
                log.debug("could not build an error event", exc_info=True)
        if batch:
            for sink in list(self.sinks):
                try:
                    sink(batch)
                except Exception:
                    log.warning("error sink %r failed", sink, exc_info=True)
        return len(batch)

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self.flush()

    def reset(self) -> None:
        """Forget counts and queue (tests)."""
        counter = self._metric()[0]
        with self._lock:
            for key in list(self._incs):
                counter.remove(*key)
            self._incs.clear()
            self.admitted.clear()
            self.queue.clear()


CAPTURE = ErrorCapture()


def capture_exception(exc: BaseException | None = None, *,
                      fingerprint: Sequence[str] | None = None,
                      user: str | None = None, route: str | None = None) -> str | None:
    """Count ``exc`` (default: the exception being handled) in its group; returns the
    group id, or None when there is no exception.

    ``fingerprint`` replaces the default grouping or extends it where an item is
    ``"{{ default }}"``; ``user`` counts towards "users affected" (see :func:`set_user`).
    """
    if exc is None:
        exc = sys.exc_info()[1]
        if exc is None:
            return None
    return CAPTURE.capture(exc, route, fingerprint, user)


def on_unhandled(exc: BaseException, work: Work | None = None) -> None:
    """The web middlewares' hook: an unhandled exception of a request (or job)."""
    capture_exception(exc, route=work.name if work is not None else None)


def _connect_middlewares() -> None:
    """The web middlewares (ASGI, WSGI, Flask, Django) capture what a request leaves
    unhandled once this module is loaded; they call it only on the error path."""
    from ..hooks import add_exception_hook

    add_exception_hook(on_unhandled)


_connect_middlewares()


def configure(*, release: str | None = None, environment: str | None = None,
              max_groups: int | None = None, with_locals: bool | None = None) -> None:
    """Set what every event carries (release, environment) and the group-label cap."""
    if release is not None:
        CAPTURE.release = release
    if environment is not None:
        CAPTURE.environment = environment
    if max_groups is not None:
        CAPTURE.max_groups = max_groups
    if with_locals is not None:
        CAPTURE.with_locals = with_locals
