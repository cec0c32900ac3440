"""Resource monitors' cost against their anchors, measured in the same run.

    .venv/bin/python bench/monitors.py [--quick]

- pool: checkout + checkin through a SQLAlchemy QueuePool (SQLite file), bare, with
  ``instrument_pool`` and with OpenTelemetry's SQLAlchemy instrumentation (SDK meter
  provider, so its metrics are recorded); the added cost of each over bare.
- cache: a hit of ``@watchkeeper.cached`` against a hit of a bare ``functools.lru_cache``.
- breaker: a closed-state call (sync, and an ``await``) through ``@circuit_breaker``,
  pybreaker and circuitbreaker; the added cost of each over the bare call.

Times are minima of many short rounds, ours and the anchors timed alternately so that load
from other processes weighs on both alike and the least disturbed round of each is kept.
Ratios (ours / anchor) are printed last.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

QUICK = "--quick" in sys.argv
REPEAT = 5 if QUICK else 21
RATIOS: list[tuple[str, float, str]] = []


def timed(fns: dict[str, Callable[[], object]], number: int, rounds: int = 0
          ) -> dict[str, float]:
    """The least seconds per call of each, timed in turn, ``REPEAT`` rounds (the minimum is
    the run least disturbed by other processes)."""
    timers = {k: timeit.Timer(f) for k, f in fns.items()}
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds or REPEAT):
        for k, t in timers.items():
            samples[k].append(t.timeit(number) / number)
    return {k: min(v) for k, v in samples.items()}


def ns(seconds: float) -> str:
    return f"{seconds * 1e9:8.0f} ns"


def pool() -> None:
    from opentelemetry import metrics
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from sqlalchemy import create_engine
    from sqlalchemy.pool import QueuePool

    import watchkeeper

    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    tmp = tempfile.mkdtemp()

    def engine(name: str):
        return create_engine(f"sqlite:///{tmp}/{name}.db", poolclass=QueuePool, pool_size=5)

    bare, ours, otel = engine("bare"), engine("ours"), engine("otel")
    watchkeeper.instrument_pool(ours, name="bench")
    # skip_dep_check: its declared range stops below the installed SQLAlchemy, which it
    # otherwise refuses to instrument (the hooks it uses are unchanged)
    SQLAlchemyInstrumentor().instrument(engine=otel, enable_commenter=False,
                                        skip_dep_check=True)
    for e in (bare, ours, otel):
        e.connect().close()  # the connection exists: the loop measures checkout + checkin

    def cycle(e):
        pool_connect = e.pool.connect
        return lambda: pool_connect().close()

    got = timed({"bare": cycle(bare), "ours": cycle(ours), "otel": cycle(otel)}, 200,
                rounds=REPEAT * 12)
    ours_add, otel_add = got["ours"] - got["bare"], got["otel"] - got["bare"]
    print(f"pool checkout+checkin  bare {ns(got['bare'])}  ours {ns(got['ours'])}  "
          f"otel {ns(got['otel'])}")
    print(f"  added: ours {ns(ours_add)} (goal <= 2000 ns)  otel {ns(otel_add)}")
    RATIOS.append(("pool added cost / OpenTelemetry SQLAlchemy added cost",
                   ours_add / otel_add, "<= 0.5"))


def cache() -> None:
    import watchkeeper

    @functools.lru_cache(maxsize=128)
    def bare(x: int) -> int:
        return x

    @watchkeeper.cached(name="bench", maxsize=128)
    def ours(x: int) -> int:
        return x

    @watchkeeper.cached(name="bench_ttl", maxsize=128, ttl=3600)
    def ours_ttl(x: int) -> int:
        return x

    bare(1), ours(1), ours_ttl(1)
    got = timed({"bare": lambda: bare(1), "ours": lambda: ours(1),
                 "ttl": lambda: ours_ttl(1)}, 2000, rounds=REPEAT * 12)
    print(f"cache hit  lru_cache {ns(got['bare'])}  cached {ns(got['ours'])}  "
          f"cached(ttl) {ns(got['ttl'])}")
    print(f"  added: cached {ns(got['ours'] - got['bare'])} (goal <= 120 ns)  "
          f"cached(ttl) {ns(got['ttl'] - got['bare'])}")
    RATIOS.append(("cache hit / lru_cache hit", got["ours"] / got["bare"], "added <= 120 ns"))


def breaker() -> None:
    import circuitbreaker
    import pybreaker

    import watchkeeper

    def f() -> int:
        return 1

    ours = watchkeeper.circuit_breaker(name="bench")(f)
    pyb = pybreaker.CircuitBreaker(fail_max=5)(f)
    cb = circuitbreaker.CircuitBreaker(name="bench_cb")(f)
    got = timed({"bare": f, "ours": ours, "pybreaker": pyb, "circuitbreaker": cb}, 2000,
                rounds=REPEAT * 12)
    add = {k: got[k] - got["bare"] for k in ("ours", "pybreaker", "circuitbreaker")}
    print(f"breaker sync call  bare {ns(got['bare'])}  ours {ns(got['ours'])}  "
          f"pybreaker {ns(got['pybreaker'])}  circuitbreaker {ns(got['circuitbreaker'])}")
    print(f"  added: ours {ns(add['ours'])} (goal <= 300 ns)  pybreaker "
          f"{ns(add['pybreaker'])}  circuitbreaker {ns(add['circuitbreaker'])}")
    RATIOS.append(("breaker sync added / pybreaker added", add["ours"] / add["pybreaker"],
                   "<= 0.3"))
    RATIOS.append(("breaker sync added / circuitbreaker added",
                   add["ours"] / add["circuitbreaker"], "<= 0.65"))

    async def g() -> int:
        return 1

    ours_a = watchkeeper.circuit_breaker(name="bench_async")(g)
    cb_a = circuitbreaker.CircuitBreaker(name="bench_cb_async")(g)
    n = 2000  # short rounds, many of them: the least disturbed one is kept

    def loop(fn: Callable[[], object]) -> Callable[[], object]:
        async def many() -> None:
            for _ in range(n):
                await fn()

        return lambda: asyncio.run(many())

    got = timed({"bare": loop(g), "ours": loop(ours_a), "circuitbreaker": loop(cb_a)}, 1,
                rounds=REPEAT * 12)
    got = {k: v / n for k, v in got.items()}
    add = {k: got[k] - got["bare"] for k in ("ours", "circuitbreaker")}
    print(f"breaker await  bare {ns(got['bare'])}  ours {ns(got['ours'])}  "
          f"circuitbreaker {ns(got['circuitbreaker'])}")
    print(f"  added: ours {ns(add['ours'])} (goal <= 350 ns)  circuitbreaker "
          f"{ns(add['circuitbreaker'])}")
    RATIOS.append(("breaker await added / circuitbreaker added",
                   add["ours"] / add["circuitbreaker"], "<= 0.65"))


if __name__ == "__main__":
    pool()
    cache()
    breaker()
    print()
    for label, ratio, goal in RATIOS:
        print(f"{label:55s} {ratio:6.3f}  (goal {goal})")
