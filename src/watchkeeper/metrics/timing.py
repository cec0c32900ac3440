"""Timers, exception counters and in-progress trackers: context managers and decorators.

Unlike prometheus_client's, decorating an ``async def`` measures the coroutine's whole run
(awaits included), not the instant it takes to create the coroutine object.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from time import perf_counter
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _decorate(func: F, make_context: Callable[[], Any]) -> F:
    import inspect  # here, not at import time: it costs more than the rest of the package

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with make_context():
                return await func(*args, **kwargs)

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with make_context():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _ContextDecorator:
    """``with``, ``async with`` and ``@`` on sync and async functions."""

    def _fresh(self) -> Any:
        return self

    def __call__(self, func: F) -> F:
        return _decorate(func, self._fresh)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, typ: Any, value: Any, tb: Any) -> Any:
        return self.__exit__(typ, value, tb)

    def __enter__(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def __exit__(self, typ: Any, value: Any, tb: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


class Timer(_ContextDecorator):
    """Calls ``metric.<callback>(seconds)`` when the block or call ends; ``duration`` keeps it."""

    def __init__(self, metric: Any, callback_name: str) -> None:
        self._metric = metric
        self._callback_name = callback_name
        self.duration: float | None = None

    def _fresh(self) -> Timer:
        # A new timer per call keeps decorated functions reentrant and thread safe.
        return Timer(self._metric, self._callback_name)

    def __enter__(self) -> Timer:
        self._start = perf_counter()
        return self

    def __exit__(self, typ: Any, value: Any, tb: Any) -> None:
        self.duration = max(perf_counter() - self._start, 0.0)
        getattr(self._metric, self._callback_name)(self.duration)

    def labels(self, *args: Any, **kwargs: Any) -> None:
        """Choose the labelled child at the end of the block, once labels are known."""
        self._metric = self._metric.labels(*args, **kwargs)


class ExceptionCounter(_ContextDecorator):
    """Increments a counter when the block or call raises one of ``exception``."""

    def __init__(
        self, counter: Any, exception: type[BaseException] | tuple[type[BaseException], ...]
    ) -> None:
        self._counter = counter
        self._exception = exception

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: Any, value: Any, tb: Any) -> bool:
        if isinstance(value, self._exception):
            self._counter.inc()
        return False


class InprogressTracker(_ContextDecorator):
    """Raises a gauge while the block or call runs."""

    def __init__(self, gauge: Any) -> None:
        self._gauge = gauge

    def __enter__(self) -> None:
        self._gauge.inc()

    def __exit__(self, typ: Any, value: Any, tb: Any) -> None:
        self._gauge.dec()
