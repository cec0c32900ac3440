"""Error capture against sentry-sdk (no-op transport), in the same run.

    .venv/bin/python bench/errors.py [--quick]

- a request that raises nothing: an in-process ASGI call of a one-route app behind
  ``HTTPMetricsMiddleware`` with no exception hook, the same with the error capture
  connected (its hook runs only when a request raises), and the first one around
  ``SentryAsgiMiddleware``; the figure is the added cost (goal: 0 for ours);
- per captured exception: ``watchkeeper.capture_exception(exc)`` against
  ``sentry_sdk.capture_exception(exc)`` with a transport that drops envelopes, each on a
  fresh exception raised through 4 frames with a 2-exception chain; the cost of raising
  is measured alone and subtracted from both (goal: <= 30 us for ours);
- off the request path, for information: building the full event (frames, redacted locals)
  and writing it to the SQLite error store, per event.

Times are medians of alternating repeats (ours, anchor, ours, ...) so that load from other
processes weighs on both alike. The ratios (ours / anchor) are printed last.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import sentry_sdk  # noqa: E402
from sentry_sdk.integrations.asgi import SentryAsgiMiddleware  # noqa: E402
from sentry_sdk.transport import Transport  # noqa: E402

import watchkeeper  # noqa: E402
from watchkeeper.integrations.context import Work, reset_work, set_work  # noqa: E402
from watchkeeper.integrations.errors import CAPTURE, on_unhandled  # noqa: E402
from watchkeeper.integrations.hooks import EXCEPTION_HOOKS  # noqa: E402

QUICK = "--quick" in sys.argv
REPEAT = 5 if QUICK else 9
REQUESTS = 5_000 if QUICK else 20_000
CAPTURES = 2_000 if QUICK else 5_000
RATIOS: list[tuple[str, float, str]] = []


class DropTransport(Transport):
    """Sentry's transport interface, sending nothing: the anchor pays only capture."""

    def capture_envelope(self, envelope: object) -> None:
        pass

    def flush(self, timeout: float, callback: object = None) -> None:
        pass


def us(seconds: float) -> str:
    return f"{seconds * 1e6:8.2f} us"


def alternate(fns: list[Callable[[], float]]) -> list[float]:
    """Median of each function's own timing (seconds per item), run in turn."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(REPEAT):
        for fn, out in zip(fns, samples, strict=True):
            out.append(fn())
    return [statistics.median(s) for s in samples]


# --- a request that raises nothing ---------------------------------------------------------

async def app(scope: dict, receive: Callable, send: Callable) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


SCOPE = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
         "scheme": "http", "path": "/items/1", "raw_path": b"/items/1", "query_string": b"",
         "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
         "server": ("127.0.0.1", 80)}


async def _receive() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict) -> None:
    pass


def per_request(target: Callable) -> Callable[[], float]:
    async def run() -> float:
        start = time.perf_counter()
        for _ in range(REQUESTS):
            await target(dict(SCOPE), _receive, _send)
        return (time.perf_counter() - start) / REQUESTS

    loop = asyncio.new_event_loop()
    return lambda: loop.run_until_complete(run())


def bench_no_raise() -> None:
    """The real HTTPMetricsMiddleware with the exception hook list empty, then with the
    error capture connected, then (anchor) around SentryAsgiMiddleware."""
    from watchkeeper.integrations.asgi import HTTPMetricsMiddleware
    from watchkeeper.metrics import CollectorRegistry

    def middleware(inner: Callable) -> Callable:
        return HTTPMetricsMiddleware(inner, registry=CollectorRegistry())

    without, again = per_request(middleware(app)), per_request(middleware(app))
    with_capture = per_request(middleware(app))
    saved = list(EXCEPTION_HOOKS)

    def hookless(run: Callable[[], float]) -> Callable[[], float]:
        def timed() -> float:
            EXCEPTION_HOOKS.clear()
            try:
                return run()
            finally:
                EXCEPTION_HOOKS[:] = saved
        return timed

    def ours() -> float:
        assert on_unhandled in EXCEPTION_HOOKS
        return with_capture()

    base, base_again, mine, theirs = alternate([
        hookless(without), hookless(again), ours,
        per_request(middleware(SentryAsgiMiddleware(app)))])
    added, anchor_added = mine - base, theirs - base  # ours: noise around 0, either sign
    print(f"request, nothing raised (HTTPMetricsMiddleware): without capture {us(base)}, "
          f"added by ours {us(added)} (noise floor, the same setup twice: "
          f"{us(abs(base_again - base))}), added by sentry asgi {us(anchor_added)}")
    RATIOS.append(("added per request without error / sentry's",
                   max(0.0, added) / anchor_added, "ours 0 us"))


# --- per captured exception ----------------------------------------------------------------

class OrderError(Exception):
    pass


def fetch(order_id: int) -> None:
    raise LookupError(f"order {order_id} not found")


def load(order_id: int) -> None:
    fetch(order_id)


def place(order_id: int, token: str = "secret") -> None:
    try:
        load(order_id)
    except LookupError as e:
        raise OrderError(f"cannot place {order_id}") from e


def raised(n: int) -> list[BaseException]:
    out = []
    for i in range(n):
        try:
            place(i)
        except OrderError as e:
            out.append(e)
    return out


def per_capture(capture: Callable[[BaseException], object]) -> Callable[[], float]:
    """Seconds per raise-and-capture; each exception dies after its capture, as in a
    server (holding thousands alive would time the garbage collector instead)."""
    def run() -> float:
        start = time.perf_counter()
        for i in range(CAPTURES):
            try:
                place(i)
            except OrderError as e:
                capture(e)
        return (time.perf_counter() - start) / CAPTURES

    return run


def _nothing(exc: BaseException) -> None:
    pass


def bench_capture() -> None:
    token = set_work(Work("http", "/orders/{id}"))
    try:
        raise_only, ours, theirs = alternate([
            per_capture(_nothing), per_capture(watchkeeper.capture_exception),
            per_capture(sentry_sdk.capture_exception)])
    finally:
        reset_work(token)
    ours, theirs = max(0.0, ours - raise_only), max(0.0, theirs - raise_only)
    print(f"per captured exception: ours {us(ours)}, sentry_sdk.capture_exception "
          f"{us(theirs)} (no-op transport)")
    RATIOS.append(("per captured exception / sentry_sdk's", ours / theirs, "<= 30 us"))


def bench_drain() -> None:
    from watchkeeper.errorstore import ErrorStore

    with tempfile.TemporaryDirectory() as tmp:
        store = ErrorStore(Path(tmp) / "errors.db")
        CAPTURE.add_sink(store.add_events)
        try:
            CAPTURE.stop()  # drain by hand, timed
            times = []
            for _ in range(3):
                for e in raised(500):
                    watchkeeper.capture_exception(e)
                start = time.perf_counter()
                n = CAPTURE.flush()
                times.append((time.perf_counter() - start) / max(n, 1))
        finally:
            CAPTURE.remove_sink(store.add_events)
            store.close()
    print(f"off the request path: event built and stored {us(statistics.median(times))}"
          " per event (drain thread)")


def main() -> None:
    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=DropTransport,
                    default_integrations=False)
    bench_no_raise()
    bench_capture()
    bench_drain()
    print()
    for name, ratio, goal in RATIOS:
        print(f"ratio {name:45} {ratio:6.3f}   goal: {goal}")


if __name__ == "__main__":
    main()
