"""The embedded store side by side with Prometheus's TSDB on the same data.

One OpenMetrics file (70 random-walk gauges with 3 decimals, 30 monotonic counters,
10,000 samples each at 15 s) is backfilled by ``promtool tsdb create-blocks-from
openmetrics`` and imported into our store; then our own figures against the goals:
batch ingest from numpy arrays, single append() calls, a 30-day single-series read,
head memory per series and a 1-year rollup read, cold (a freshly opened store, nothing
decoded in memory) and warm (blocks decoded by an earlier read). Every line prints ours, the anchor
(Prometheus where it has a comparable figure, else the goal) and a score where <= 1
meets the goal; the worst score is printed last. Runs in about a minute.

Read and append figures are medians of the process's CPU time, with wall time beside
them: on a shared machine, wall time also counts waiting for a core.

    .venv/bin/python bench/tsdb.py
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from watchkeeper.exposition.parse import openmetrics_fd_to_metric_families
from watchkeeper.tsdb.exchange import import_openmetrics
from watchkeeper.tsdb.index import LabelIndex
from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.rollups import HOUR_MS
from watchkeeper.tsdb.store import Store

GAUGES, COUNTERS, SAMPLES, STEP_S = 70, 30, 10_000, 15
START_S = 1_700_000_000
rows: list[tuple[str, str, str, float]] = []  # figure, ours, anchor, score (<=1 meets goal)


def report(name: str, ours: str, anchor: str, score: float) -> None:
    rows.append((name, ours, anchor, score))
    print(f"{name:<46} {ours:>18} {anchor:>30}   score {score:5.2f}", flush=True)


def median_time(fn: Callable[[], object], runs: int) -> float:
    """Median CPU seconds of this process per run (wall time kept in last_wall)."""
    cpu, wall = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    last_wall[0] = statistics.median(wall)
    return statistics.median(cpu)


last_wall = [0.0]


def wall_ms() -> str:
    return f"(wall {last_wall[0] * 1000:.1f})"


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def make_series(rng: np.random.Generator) -> list[tuple[str, str, np.ndarray]]:
    out = []
    for i in range(GAUGES):
        walk = 100 + np.cumsum(rng.normal(0, 0.25, SAMPLES))
        out.append(("bench_gauge", f'{{id="{i}",job="bench"}}', np.round(walk, 3)))
    for i in range(COUNTERS):
        out.append(("bench_requests_total", f'{{id="{i}",job="bench"}}',
                    np.cumsum(rng.integers(0, 40, SAMPLES)).astype(np.float64)))
    return out


def write_openmetrics(path: Path, series: list[tuple[str, str, np.ndarray]]) -> None:
    stamps = [str(START_S + k * STEP_S) for k in range(SAMPLES)]
    with open(path, "w") as f:
        for family, typ in (("bench_gauge", "gauge"), ("bench_requests", "counter")):
            f.write(f"# TYPE {family} {typ}\n")
            for name, labels, vals in series:
                if not name.startswith(family):
                    continue
                text = [f"{v:.3f}" if typ == "gauge" else f"{int(v)}" for v in vals.tolist()]
                f.writelines(f"{name}{labels} {v} {t}\n" for v, t in zip(text, stamps, strict=True))
        f.write("# EOF\n")


def bench_bytes_and_import(work: Path, series: list) -> None:
    om = work / "bench.om"
    write_openmetrics(om, series)
    total = len(series) * SAMPLES
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    t0 = time.perf_counter()
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(om),
                    str(work / "prom")], check=True, capture_output=True, timeout=300)
    prom_s = time.perf_counter() - t0
    prom_bytes = dir_bytes(work / "prom")

    t0 = time.perf_counter()
    with open(om, "rb") as f:
        for _ in openmetrics_fd_to_metric_families(f):
            pass
    parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = Store.open(work / "ours", sync="never", background=False)
    with open(om, "rb") as f:
        imported = import_openmetrics(store, f)
    store.maintain()
    store.close()
    ours_s = time.perf_counter() - t0
    assert imported.samples == total, imported
    ours_bytes = dir_bytes(work / "ours")
    report("bytes on disk (ours / Prometheus blocks)",
           f"{ours_bytes:,} B {ours_bytes / total:.2f} B/s", f"{prom_bytes:,} B "
           f"{prom_bytes / total:.2f} B/s", (ours_bytes / prom_bytes) / 0.5)
    report("import of the file, samples/s (incl. parsing)", f"{total / ours_s:,.0f}",
           f"promtool {total / prom_s:,.0f}", (total / prom_s) / (total / ours_s))
    print(f"  (of which parsing alone: {total / parse_s:,.0f} samples/s)")
    verify_exact(work / "ours", series)


def verify_exact(path: Path, series: list) -> None:
    """Every imported sample reads back bit-exact: the size figure is for lossless data."""
    with Store.open(path, background=False) as store:
        got = {str(d.labels): d for d in store.select([])}
    for name, labels, vals in series:
        key = f'{name}{labels.replace("id=", "id=")}'
        data = got[key]
        assert np.array_equal(data.values.view(np.int64), vals.view(np.int64)), key
        assert data.timestamps[0] == START_S * 1000 and data.timestamps.size == SAMPLES


def bench_batch_ingest(work: Path, series: list) -> None:
    arrays = [({"__name__": name, "id": labels.split('"')[1], "job": "bench"}, vals)
              for name, labels, vals in series]
    ts = (START_S + np.arange(SAMPLES, dtype=np.int64) * STEP_S) * 1000

    def once() -> None:
        path = Path(tempfile.mkdtemp(dir=work))
        store = Store.open(path, background=False)
        for labels, vals in arrays:
            store.append_array(labels, ts, vals)
        store.flush()  # includes encoding every chunk
        store.close()
        shutil.rmtree(path)

    cpu = median_time(once, 5)
    rate = len(arrays) * SAMPLES / last_wall[0]  # wall: the WAL writes are part of it
    report("batch ingest from numpy arrays, samples/s", f"{rate:,.0f}", "goal 1,000,000",
           1_000_000 / rate)
    print(f"  (wall time, WAL writes and chunk encoding included; by CPU time "
          f"{len(arrays) * SAMPLES / cpu:,.0f} samples/s)")


def bench_single_append(work: Path) -> None:
    labels = [{"__name__": "bench_gauge", "instance": "host:9100", "job": "node", "id": str(i)}
              for i in range(100)]
    store = Store.open(work / "single", background=False)
    t = [START_S * 1000]

    def scrape_rounds() -> None:  # 100 series per scrape, one commit per scrape
        for _ in range(200):
            t[0] += 15_000
            now = t[0]
            for lab in labels:
                store.append(lab, now, 1.5)
            store.commit()

    seconds = median_time(scrape_rounds, 7)
    store.close()
    rate = 200 * 100 / seconds
    report("single append() calls, samples/s", f"{rate:,.0f}", "goal 300,000", 300_000 / rate)
    print(f"  (wall: {200 * 100 / last_wall[0]:,.0f} samples/s)")


def bench_read_30_days(work: Path) -> None:
    n = 30 * 86_400 // 15
    ts = (START_S + np.arange(n, dtype=np.int64) * 15) * 1000
    vals = np.round(100 + np.cumsum(np.random.default_rng(2).normal(0, 0.25, n)), 3)
    store = Store.open(work / "read", background=False)
    store.append_array({"__name__": "one", "job": "bench"}, ts, vals)
    for k in range(50):  # neighbours, so the index and tables are not trivially small
        store.append_array({"__name__": "other", "k": str(k)}, ts[:5760], vals[:5760])
    store.maintain()
    matcher = [Matcher("__name__", "=", "one")]
    got = next(store.select(matcher))
    assert got.timestamps.size == n and np.array_equal(got.values, vals)
    seconds = median_time(lambda: next(store.select(matcher)), 21)
    store.close()
    report("read 1 series, 30 days at 15 s (172,800), ms", f"{seconds * 1000:.2f} {wall_ms()}",
           "goal 20", seconds * 1000 / 20)


def bench_head_memory(work: Path) -> None:
    store = Store.open(work / "mem", background=False)
    n = 20_000
    labels = [{"__name__": f"metric_{i % 50}", "instance": f"host-{i % 200}:9100",
               "job": "node", "id": str(i)} for i in range(n)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i, lab in enumerate(labels):
        store.append(lab, START_S * 1000 + i, 1.0)
    store.commit()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_series = (after - before) / n - 16  # beyond its one sample (8 B time + 8 B value)
    store.close()
    report("head memory per active series beyond samples, B", f"{per_series:,.0f}",
           "goal 1,024", per_series / 1024)


def bench_matchers() -> None:
    index = LabelIndex()
    for i in range(100_000):
        index.add(i, Labels.of({"__name__": f"metric_{i % 200}", "instance": f"host-{i % 1000}",
                                "job": f"job-{i % 10}", "id": str(i)}))
    queries = [
        [Matcher("__name__", "=", "metric_7")],
        [Matcher("__name__", "=", "metric_7"), Matcher("instance", "=~", "host-1.*")],
        [Matcher("job", "=~", "job-[1-3]"), Matcher("instance", "!~", "host-9.*")],
        [Matcher("__name__", "=~", "metric_1.*"), Matcher("job", "!=", "job-1")],
    ]
    seconds = median_time(lambda: [index.select(q) for q in queries], 11) / len(queries)
    report("matcher set over 100,000 series, ms (mean of 4)", f"{seconds * 1000:.2f}",
           "goal 10", seconds * 1000 / 10)


def bench_year_rollup_read(work: Path) -> None:
    step_ms = 300_000  # a year of 5-minute samples: 105,120 per series
    n = 365 * 86_400_000 // step_ms
    ts = START_S * 1000 + np.arange(n, dtype=np.int64) * step_ms
    rng = np.random.default_rng(3)
    store = Store.open(work / "year", background=False)
    for k in range(100):
        store.append_array({"__name__": "year", "k": str(k)}, ts,
                           np.round(100 + np.cumsum(rng.normal(0, 0.25, n)), 3))
    t0 = time.perf_counter()
    store.maintain()
    build_s = time.perf_counter() - t0
    store.close()
    matcher = [Matcher("__name__", "=", "year")]
    start, end = int(ts[0]), int(ts[-1])

    def read(store: Store, columns: tuple[str, ...] | None = None) -> list:
        return list(store.select_rollup(matcher, start, end, HOUR_MS, columns=columns))

    # cold: a freshly opened store, nothing decoded in memory (the OS may cache the file)
    cold, cold_wall = [], []
    for _ in range(7):
        store = Store.open(work / "year", background=False)
        c0, t0 = time.process_time(), time.perf_counter()
        got = read(store)
        cold.append(time.process_time() - c0)
        cold_wall.append(time.perf_counter() - t0)
        store.close()
    assert len(got) == 100 and got[0].timestamps.size >= 8700, got[0].timestamps.size
    store = Store.open(work / "year", background=False)
    read(store)
    warm = median_time(lambda: read(store), 11)
    warm_wall = wall_ms()
    one = median_time(lambda: read(store, ("max", "count")), 11)
    store.close()
    cold_ms, cold_wall_ms = statistics.median(cold) * 1000, statistics.median(cold_wall) * 1000
    print(f"  (maintenance over a year of 100 series: {build_s:.1f} s; max and count only, "
          f"as max_over_time reads them, warm: {one * 1000:.1f} ms {wall_ms()})")
    report("1-year read of 100 series at 1 h, cold, ms", f"{cold_ms:.1f} (wall {cold_wall_ms:.1f})",
           "goal 50", cold_ms / 50)
    report("1-year read of 100 series at 1 h, warm, ms", f"{warm * 1000:.1f} {warm_wall}",
           "goal 50", warm * 1000 / 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=["rollup"], help="run just this figure")
    only = parser.parse_args().only
    work = Path(tempfile.mkdtemp(prefix="tsdb-bench-"))
    try:
        if only == "rollup":
            print(f"{'figure':<46} {'ours':>18} {'anchor':>30}")
            bench_year_rollup_read(work)
            return
        series = make_series(np.random.default_rng(1))
        print(f"{'figure':<46} {'ours':>18} {'anchor':>30}")
        bench_bytes_and_import(work, series)
        bench_batch_ingest(work, series)
        bench_single_append(work)
        bench_read_30_days(work)
        bench_head_memory(work)
        bench_matchers()
        bench_year_rollup_read(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    worst = max(rows, key=lambda r: r[3])
    print(f"worst: {worst[0]}: ours {worst[1]} vs {worst[2]} (score {worst[3]:.2f})")
    sys.exit(0)


if __name__ == "__main__":
    main()
