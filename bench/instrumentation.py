"""Instrumentation cost, ours against prometheus_client, measured in the same run.

    .venv/bin/python bench/instrumentation.py [--quick]

Each line: the operation, our figure, prometheus_client's, the ratio ours/theirs and the
goal; lines are sorted by ratio, the worst last. Times are medians of repeated timeit runs;
memory is measured with tracemalloc over 10,000 series.
"""

from __future__ import annotations

import gc
import importlib
import os
import statistics
import sys
import timeit
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
# Multiprocess mode would change what metrics store; this bench measures the default.
for _var in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", "WATCHKEEPER_MULTIPROC_DIR"):
    os.environ.pop(_var, None)

import prometheus_client as pc  # noqa: E402
import prometheus_client.parser as pc_parser  # noqa: E402

import watchkeeper.metrics as wk  # noqa: E402
from watchkeeper.exposition import generate_latest  # noqa: E402

QUICK = "--quick" in sys.argv
REPEAT = 5 if QUICK else 9


def paired(ours: Callable[[], object], theirs: Callable[[], object], number: int,
           repeat: int = REPEAT) -> tuple[float, float]:
    """Median seconds per call of each, timing ours and theirs alternately so that load
    from other processes on the machine weighs on both alike."""
    timers = (timeit.Timer(ours), timeit.Timer(theirs))
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for timer, out in zip(timers, samples, strict=True):
            out.append(timer.timeit(number) / number)
    return statistics.median(samples[0]), statistics.median(samples[1])


# --- hot paths -----------------------------------------------------------------------------

def counter_inc(lib) -> Callable[[], object]:
    return lib.Counter("c", "C", registry=None).inc


def labels_inc(lib) -> Callable[[], object]:
    labels = lib.Counter("c", "C", ["a", "b"], registry=None).labels
    labels("a", "b").inc()
    return lambda: labels("a", "b").inc()


def child_inc(lib) -> Callable[[], object]:
    return lib.Counter("c", "C", ["a", "b"], registry=None).labels("a", "b").inc


def histogram_observe(lib) -> Callable[[], object]:
    observe = lib.Histogram("h", "H", registry=None).observe
    return lambda: observe(0.3)


def summary_observe(lib) -> Callable[[], object]:
    observe = lib.Summary("s", "S", registry=None).observe
    return lambda: observe(0.3)


# --- rendering and parsing -----------------------------------------------------------------

def counter_registry(lib, series: int = 10_000):
    reg = lib.CollectorRegistry()
    c = lib.Counter("http_requests", "Requests", ["path", "code"], registry=reg)
    for i in range(series):
        c.labels(f"/api/v{i % 7}/item{i}", str(200 + i % 5)).inc(i)
    return reg


def histogram_registry(lib, series: int = 1_000):
    reg = lib.CollectorRegistry()
    h = lib.Histogram("latency_seconds", "Latency", ["route"], registry=reg)
    for i in range(series):
        child = h.labels(f"/route/{i}")
        for v in (0.004, 0.02, 0.3, 1.7, 12.0):
            child.observe(v * (1 + i % 3))
    return reg


def render(build: Callable, ours: Callable, theirs: Callable) -> tuple[float, float]:
    mine, anchor = build(wk), build(pc)
    return paired(lambda: ours(mine), lambda: theirs(anchor), 1, 5)


# --- memory ----------------------------------------------------------------------------------

def bytes_per_series(make: Callable[[list[str]], object], n: int = 10_000) -> float:
    names = [f"series-{i}" for i in range(n)]  # label values exist before measuring
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keep = make(names)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del keep
    return (after - before) / n


def counter_series(lib) -> Callable[[list[str]], object]:
    def make(names: list[str]) -> object:
        c = lib.Counter("mem_c", "C", ["path"], registry=None)
        for name in names:
            c.labels(name).inc()
        return c
    return make


def histogram_series(lib) -> Callable[[list[str]], object]:
    def make(names: list[str]) -> object:
        h = lib.Histogram("mem_h", "H", ["path"], registry=None)
        for name in names:
            h.labels(name).observe(0.3)
        return h
    return make


# --- the table -------------------------------------------------------------------------------

def _ns(s: float) -> str:
    return f"{s * 1e9:,.0f} ns"


def _ms(s: float) -> str:
    return f"{s * 1e3:,.1f} ms"


def _bytes(b: float) -> str:
    return f"{b:,.0f} B"


def _optional_parse_row() -> tuple | None:
    try:
        ours = importlib.import_module("watchkeeper.exposition.parse")
    except ImportError:
        return None
    text = generate_latest(counter_registry(wk)).decode()
    return paired(lambda: list(ours.text_string_to_metric_families(text)),
                  lambda: list(pc_parser.text_string_to_metric_families(text)), 1, 5)


def _optional_multiprocess_row() -> tuple | None:
    try:
        mp_bench = importlib.import_module("bench.multiprocess")
    except ImportError:
        return None
    saved = dict(os.environ)
    try:
        return mp_bench.run()
    except Exception as e:  # the other bench failing must not lose this table
        print(f"  multiprocess bench failed: {e!r}", file=sys.stderr)
        return None
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> None:
    rows: list[tuple[str, float | None, float | None, Callable[[float], str], float]] = []

    def row(name: str, goal: float, fmt: Callable[[float], str], ours: float | None,
            theirs: float | None) -> None:
        rows.append((name, ours, theirs, fmt, goal))
        print(f"  measured: {name}", file=sys.stderr, flush=True)

    for name, fn, goal, number in [
        ("Counter.inc() unlabeled", counter_inc, 0.35, 200_000),
        ('labels("a","b").inc()', labels_inc, 0.25, 100_000),
        ("cached child inc()", child_inc, 0.35, 200_000),
        ("Histogram.observe() default buckets", histogram_observe, 0.30, 100_000),
        ("Summary.observe()", summary_observe, 0.50, 100_000),
    ]:
        row(name, goal, _ns, *paired(fn(wk), fn(pc), number))
    row("render 10,000 labeled counter series", 0.15, _ms,
        *render(counter_registry, generate_latest, pc.generate_latest))
    row("render 1,000 histograms", 0.15, _ms,
        *render(histogram_registry, generate_latest, pc.generate_latest))
    parsed = _optional_parse_row()
    row("parse the 10,000-series text", 0.10, _ms, *(parsed or (None, None)))
    row("bytes per counter series", 0.5, _bytes,
        bytes_per_series(counter_series(wk)), bytes_per_series(counter_series(pc)))
    row("bytes per histogram series", 0.5, _bytes,
        bytes_per_series(histogram_series(wk)), bytes_per_series(histogram_series(pc)))
    mp = _optional_multiprocess_row()
    row("multiprocess scrape, 100 dead workers x 1,000 series", 0.10, _ms,
        *(mp or (None, None)))

    def ratio(r: tuple) -> float:
        return r[1] / r[2] if r[1] is not None and r[2] else -1.0

    print(f"{'operation':<54}{'watchkeeper':>14}{'prometheus_client':>19}{'ratio':>8}"
          f"{'goal':>7}  met")
    for name, ours, theirs, fmt, goal in sorted(rows, key=ratio):
        if ours is None or theirs is None:
            print(f"{name:<54}{'n/a':>14}{'n/a':>19}{'n/a':>8}{goal:>7.2f}  n/a")
            continue
        r = ours / theirs
        print(f"{name:<54}{fmt(ours):>14}{fmt(theirs):>19}{r:>8.3f}{goal:>7.2f}  "
              f"{'yes' if r <= goal else 'NO'}")


if __name__ == "__main__":
    main()
