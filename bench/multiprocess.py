"""Multiprocess mode, ours vs prometheus_client 0.26: scrapes over 100 dead workers.

Each side gets its own directory, filled by 100 real forked workers writing through the
library's own multiprocess mode (prometheus_client in a subprocess with
PROMETHEUS_MULTIPROC_DIR set). Every worker holds 700 counter series, 200 gauge series
(mode ``max``, kept after death by both) and 100 histogram series (default buckets).
Then each worker is marked dead, as a server's child-exit hook does: prometheus_client
only drops live gauges, ours also compacts. A scrape is collect + render of the whole
registry, the median of several: with a new registry and collector per scrape (what
prometheus_client's docs do per request), with one kept, and cold (our per-directory
caches emptied first, as in a new process; prometheus_client keeps none). The hot path
(an increment, an observation) in multiprocess mode is timed too, each library in its own
subprocess.

    .venv/bin/python bench/multiprocess.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

WORKERS = 100
LIVE_WORKERS = 8  # running while scraped: what a scrape of a busy server reads
COUNTERS, GAUGES, HISTOGRAMS = 700, 200, 100
REPEATS = 7

_ANCHOR_WORKERS = f"""
import os, sys
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
ready_r, ready_w = os.pipe()
stop_r, stop_w = os.pipe()
pids = []
for _ in range(int(sys.argv[2])):
    pid = os.fork()
    if pid == 0:
        reg = CollectorRegistry()
        c = Counter("bench_requests", "Requests.", ["route", "status"], registry=reg)
        g = Gauge("bench_queue_depth", "Depth.", ["queue"], registry=reg,
                  multiprocess_mode="max")
        h = Histogram("bench_latency_seconds", "Latency.", ["route"], registry=reg)
        for i in range({COUNTERS}):
            c.labels(f"/r{{i % 70}}", f"s{{i // 70}}").inc()
        for i in range({GAUGES}):
            g.labels(f"q{{i}}").set(i)
        for i in range({HISTOGRAMS}):
            h.labels(f"/r{{i}}").observe(0.02 * (i % 20))
        if sys.argv[3] == "live":
            os.close(stop_w)
            os.write(ready_w, b"x")
            os.read(stop_r, 1)  # serve until the benchmark is done scraping
        os._exit(0)
    pids.append(pid)
    if sys.argv[3] == "dead":
        os.waitpid(pid, 0)
        multiprocess.mark_process_dead(pid, sys.argv[1])
if sys.argv[3] == "live":
    for _ in pids:
        os.read(ready_r, 1)
    print("ready", flush=True)
    sys.stdin.read()
    os.close(stop_w)  # every worker's read returns: they exit
    for pid in pids:
        os.waitpid(pid, 0)
"""

_OUR_WORKERS = _ANCHOR_WORKERS.replace(
    "from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess",
    "from watchkeeper import CollectorRegistry, Counter, Gauge, Histogram, multiprocess",
)

# Hot path in multiprocess mode: every change goes to the worker's file.
_WRITES = """
import statistics, sys, time
if sys.argv[1] == "ours":
    from watchkeeper import CollectorRegistry, Counter, Histogram
else:
    from prometheus_client import CollectorRegistry, Counter, Histogram
registry = CollectorRegistry()
counter = Counter("bench_ops", "Ops.", ["route"], registry=registry).labels("/a")
histogram = Histogram("bench_seconds", "Seconds.", registry=registry)
N = 100_000
for op in (counter.inc, lambda: histogram.observe(0.3)):
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(N):
            op()
        runs.append((time.perf_counter() - start) / N)
    print(statistics.median(runs))
"""


def _fill(script: str, directory: str, workers: int, state: str) -> subprocess.Popen:
    """Run ``workers`` forked workers. "dead": they exit and are marked dead (ours also
    compacts). "live": they keep running, holding their files, until stdin is closed."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
    proc = subprocess.Popen([sys.executable, "-c", script, directory, str(workers), state],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if state == "live":
        assert proc.stdout.readline().strip() == "ready"
    else:
        proc.communicate(timeout=600)
    return proc


def _finish(proc: subprocess.Popen) -> None:
    proc.communicate(timeout=120)
    assert proc.returncode == 0


def _median_scrape(scrape) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        scrape()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _anchor_scrapes(directory: str) -> tuple[dict[str, float], bytes]:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    def fresh() -> bytes:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, directory)
        return generate_latest(registry)

    registry = CollectorRegistry()
    MultiProcessCollector(registry, directory)
    new = _median_scrape(fresh)
    # prometheus_client keeps nothing between scrapes: a cold scrape is any scrape.
    return ({"new collector": new, "cold caches": new,
             "collector kept": _median_scrape(lambda: generate_latest(registry))}, fresh())


def _our_scrapes(directory: str) -> tuple[dict[str, float], bytes]:
    from watchkeeper.exposition import generate_latest
    from watchkeeper.metrics.multiprocess import MultiProcessCollector, collector
    from watchkeeper.metrics.registry import CollectorRegistry

    def fresh() -> bytes:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, directory)
        return generate_latest(registry)

    def cold() -> bytes:
        collector._states.clear()  # as in the first scrape of a new process
        return fresh()

    registry = CollectorRegistry()
    MultiProcessCollector(registry, directory)
    return ({"cold caches": _median_scrape(cold), "new collector": _median_scrape(fresh),
             "collector kept": _median_scrape(lambda: generate_latest(registry))}, fresh())


def _check_same_totals(ours: bytes, anchor: bytes) -> None:
    """Both scrapes must tell the same story, or the timing means nothing."""
    probes = ('bench_requests_total{route="/r3",status="s2"} ',
              'bench_latency_seconds_count{route="/r7"} ', 'bench_queue_depth{queue="q9"} ')
    for probe in probes:
        values = []
        for text in (ours.decode(), anchor.decode()):
            line = next(ln for ln in text.splitlines() if ln.startswith(probe))
            values.append(float(line.rsplit(" ", 1)[1]))
        assert values[0] == values[1], (probe, values)


def measure_scrapes() -> list[tuple[str, float, float]]:
    """(label, ours seconds, anchor seconds) per measured scrape kind."""
    rows = []
    for workers, state in ((WORKERS, "dead"), (LIVE_WORKERS, "live")):
        with tempfile.TemporaryDirectory() as anchor_dir, \
                tempfile.TemporaryDirectory() as our_dir:
            anchor_fill = _fill(_ANCHOR_WORKERS, anchor_dir, workers, state)
            our_fill = _fill(_OUR_WORKERS, our_dir, workers, state)
            try:
                anchor, anchor_text = _anchor_scrapes(anchor_dir)
                ours, our_text = _our_scrapes(our_dir)
            finally:
                _finish(anchor_fill)
                _finish(our_fill)
            _check_same_totals(our_text, anchor_text)
        for kind, seconds in ours.items():
            rows.append((f"scrape {workers} {state} workers, {kind}", seconds, anchor[kind]))
    return rows


def measure_writes(rounds: int = 3) -> list[tuple[str, float, float]]:
    """Per-call seconds of labels(...).inc() and observe() in multiprocess mode; the two
    libraries take turns, and each figure is the median over the rounds."""
    figures: dict[str, list[list[float]]] = {"ours": [], "anchor": []}
    for _ in range(rounds):
        for side in ("ours", "anchor"):
            with tempfile.TemporaryDirectory() as directory:
                env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
                out = subprocess.run([sys.executable, "-c", _WRITES, side], env=env,
                                     check=True, capture_output=True, text=True,
                                     timeout=300).stdout
                figures[side].append([float(x) for x in out.split()])
    names = ("cached child inc(), multiprocess", "Histogram.observe(), multiprocess")
    return [
        (name, statistics.median(r[i] for r in figures["ours"]),
         statistics.median(r[i] for r in figures["anchor"]))
        for i, name in enumerate(names)
    ]


def run() -> tuple[float, float]:
    """(ours, anchor) seconds of the issue's line: a scrape over 100 dead workers, the
    worst of our three kinds (usually the cold one)."""
    rows = [r for r in measure_scrapes() if r[0].startswith(f"scrape {WORKERS} dead")]
    return max(((o, a) for _, o, a in rows), key=lambda r: r[0] / r[1])


def main() -> None:
    rows = measure_writes() + measure_scrapes()
    series = COUNTERS + GAUGES + HISTOGRAMS
    print(f"multiprocess mode; scrapes over {WORKERS} dead workers x {series} series "
          f"(median of {REPEATS}); worst ratio last")
    rows.sort(key=lambda r: r[1] / r[2])
    for label, ours, anchor in rows:
        print(f"{label:40s} ours {_fmt(ours)}  prometheus_client {_fmt(anchor)}"
              f"  ratio {ours / anchor:.3f}")


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e9:8.0f} ns"


if __name__ == "__main__":
    main()
