"""The decorated function of a breaker: its closed-state fast path.

Closed (and not shared), a successful call costs a bit test and one integer addition: the
success count doubles as the sampling tick, so one call in ``SAMPLE_EVERY`` reads the clock
and adds its duration that many times to the sum (an unbiased estimate; the counts stay
exact). A slow-call policy or a time window needs every call timed: then every call is.
Anything else (open, half-open, shared state, a failure) goes through ``breaker.call``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from inspect import isawaitable, iscoroutinefunction
from time import perf_counter
from typing import Any


def wrap(breaker: Any, func: Callable[..., Any]) -> Callable[..., Any]:
    call, call_async, dn = breaker.call, breaker.call_async, breaker._dn
    mask = breaker._mask
    scale = mask + 1

    if iscoroutinefunction(func):
        @wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            if not breaker._closed:
                return await call_async(func, *args, **kwargs)
            if dn[0] & mask:
                try:
                    result = await func(*args, **kwargs)
                except BaseException as e:
                    return await _failed_async(breaker, e, 0.0, args, kwargs)
                dn[0] += 1
                return result
            t0 = perf_counter()
            try:
                result = await func(*args, **kwargs)
            except BaseException as e:
                return await _failed_async(breaker, e, (perf_counter() - t0) * scale, args,
                                           kwargs)
            d = perf_counter() - t0
            if d < breaker._fast_below:
                dn[0] += 1
                dn[1] += d * scale
            else:
                breaker._record(d, None, False)
            return result

        run_async.breaker = breaker  # type: ignore[attr-defined]
        return run_async

    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not breaker._closed:
            return call(func, *args, **kwargs)
        if dn[0] & mask:
            try:
                result = func(*args, **kwargs)
            except BaseException as e:
                return _failed(breaker, e, 0.0, args, kwargs)
            dn[0] += 1
            return result
        t0 = perf_counter()
        try:
            result = func(*args, **kwargs)
        except BaseException as e:
            return _failed(breaker, e, (perf_counter() - t0) * scale, args, kwargs)
        d = perf_counter() - t0
        if d < breaker._fast_below:
            dn[0] += 1
            dn[1] += d * scale
        else:
            breaker._record(d, None, False)
        return result

    run.breaker = breaker  # type: ignore[attr-defined]
    return run


def _failed(breaker: Any, e: BaseException, seconds: float, args: tuple, kwargs: dict) -> Any:
    """Count the failure; the fallback's answer, or the error raised again."""
    if breaker._record(seconds, e, False) and breaker.fallback is not None:
        return breaker._fall(args, kwargs)
    raise e


async def _failed_async(breaker: Any, e: BaseException, seconds: float, args: tuple,
                        kwargs: dict) -> Any:
    if breaker._record(seconds, e, False) and breaker.fallback is not None:
        out = breaker._fall(args, kwargs)
        return await out if isawaitable(out) else out
    raise e
