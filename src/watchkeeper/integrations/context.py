"""The unit of work running now: one contextvar every monitor may read.

The web middleware sets it per request (kind ``"http"``, the route template) and the job
hooks per job (kind ``"job"``, the task name); a pool's hold time, an error's route or a
cache's caller are then labelled without passing anything through user code. A route is
known only after the framework has routed the request, so the name may be resolved lazily:
the middleware sets the work before calling the app and gives it a resolver that reads what
the framework resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

#: The label value of work whose route matched nothing (404 probes share it).
UNMATCHED = "_unmatched"
#: The label value when no work is running (a script, a thread started outside a request).
NO_WORK = ""


class Work:
    """What is running: ``kind`` (``http``, ``job``, ``task``, ``bulk``) and ``name``.

    ``name`` is the bounded label value (a route template or task name, never a raw path).
    With a ``resolve`` callable the name is read from it on first use once it answers.
    """

    __slots__ = ("_name", "_resolve", "kind", "system")

    def __init__(self, kind: str, name: str | None = None, *,
                 resolve: Callable[[], str | None] | None = None, system: str = "") -> None:
        self.kind = kind
        self.system = system
        self._name = name
        self._resolve = resolve

    @property
    def name(self) -> str:
        name = self._name
        if name is None:
            resolve = self._resolve
            name = resolve() if resolve is not None else None
            if name is None:
                return UNMATCHED
            self._name = name
        return name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def __repr__(self) -> str:
        return f"Work({self.kind!r}, {self.name!r})"


_current: ContextVar[Work | None] = ContextVar("watchkeeper_work", default=None)


def current_work() -> Work | None:
    """The work running in this context, or ``None`` outside any request or job."""
    return _current.get()


def work_name() -> str:
    """The label value for "what is running": the route or task name, ``""`` when none."""
    work = _current.get()
    return work.name if work is not None else NO_WORK


def set_work(work: Work) -> Token[Work | None]:
    """Make ``work`` current; give the token to :func:`reset_work` when it ends."""
    return _current.set(work)


def reset_work(token: Token[Work | None]) -> None:
    _current.reset(token)


@contextmanager
def working(kind: str, name: str, *, system: str = "") -> Iterator[Work]:
    """``with working("job", "send_email"):`` labels everything measured inside."""
    work = Work(kind, name, system=system)
    token = _current.set(work)
    try:
        yield work
    finally:
        _current.reset(token)
