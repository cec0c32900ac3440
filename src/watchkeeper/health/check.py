"""The check protocol, a base class for built-in checks, and the ``@check`` decorator.

Anything with ``name``, ``timeout``, ``critical``, ``interval`` and a plain or async
``check()`` is a health check. Plain functions become checks with the decorator, so a
custom check is a few lines of Python.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from .model import Outcome

DEFAULT_TIMEOUT = 5.0
DEFAULT_INTERVAL = 30.0
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-/]+$")


@runtime_checkable
class HealthCheck(Protocol):
    name: str
    timeout: float
    critical: bool
    interval: float

    def check(self) -> Any: ...


def slug(text: str) -> str:
    """A valid default check name made from a host, path or command."""
    text = re.sub(r"[^A-Za-z0-9_.\-/]+", "-", text)
    return re.sub(r"-{2,}", "-", text).strip("-") or "check"


def validate_common(name: str, timeout: float, interval: float) -> None:
    """Reject names that break URLs or metric labels and non-positive durations early."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"invalid check name {name!r}: use letters, digits and . _ - / only"
        )
    if not timeout > 0:
        raise ValueError(f"check {name!r}: timeout must be > 0 seconds, got {timeout!r}")
    if not interval > 0:
        raise ValueError(f"check {name!r}: interval must be > 0 seconds, got {interval!r}")


class Check:
    """Base of the built-in checks: holds the settings every check shares.

    Subclasses set ``type`` (the name used in config files), take their own parameters as
    keyword-only arguments of ``__init__`` (config validation reads that signature) and
    implement ``check()``, plain (run in a thread) or async (run on the loop).
    """

    type: str = ""

    def __init__(
        self,
        *,
        name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        critical: bool = True,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.name = name or self.type or type(self).__name__.lower()
        self.timeout = float(timeout)
        self.critical = bool(critical)
        self.interval = float(interval)
        validate_common(self.name, self.timeout, self.interval)

    def check(self) -> Outcome | Awaitable[Outcome]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class FunctionCheck(Check):
    """A plain function as a check; it runs in a worker thread so it may block."""

    def __init__(self, func: Callable[[], Any], **common: Any) -> None:
        if not common.get("name"):
            common["name"] = func.__name__
        super().__init__(**common)
        self.func = func
        self.__doc__ = func.__doc__

    def check(self) -> Any:
        return self.func()


class AsyncFunctionCheck(FunctionCheck):
    """A coroutine function as a check; it runs on the runner's event loop."""

    async def check(self) -> Any:
        return await self.func()


def function_check(func: Callable[[], Any], **common: Any) -> FunctionCheck:
    cls = AsyncFunctionCheck if inspect.iscoroutinefunction(func) else FunctionCheck
    return cls(func, **common)


def check(
    func: Callable[[], Any] | None = None,
    *,
    name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    critical: bool = True,
    interval: float = DEFAULT_INTERVAL,
    runner: Any = None,
) -> Any:
    """Register a function as a health check; usable bare (``@check``) or with options.

    Checks go to the default runner (the one ``health.asgi_app()`` and friends serve)
    unless ``runner`` is given. The decorated function is returned unchanged.
    """

    def register(f: Callable[[], Any]) -> Callable[[], Any]:
        from .runner import default_runner

        target = runner if runner is not None else default_runner()
        target.add(
            function_check(f, name=name, timeout=timeout, critical=critical, interval=interval)
        )
        return f

    if func is not None:
        return register(func)
    return register
