"""The server's anomaly scoring at 10,000 series, beside the NAB detector it replaces there.

Goals (issue 20): at 10,000 series scored every 30 s, at most 1 % of one core (300 ms of
CPU a tick) and 200 bytes per series; on stationary noise at most 1 % of series-hours
flagged; a 4 sigma level shift flagged within 2 evaluations.

Prints, for the streaming scorer: the CPU time of a tick of 10,000 series (the scorer alone,
and a whole server tick: ten instant queries over a store holding the series, scoring, and
the top 20 written back), its bytes per series (state arrays and tracemalloc), the flagged
share of series-hours on Gaussian, Laplace and Student-t(5) noise, and the share of 4 sigma
shifts caught within 1 and 2 evaluations. The anchor is the NAB detector
(``analysis/anomaly.py``) on the same noise: its CPU per point times 10,000, and its memory
per series. Minima over repeats (the machine is shared); the ratio ours/anchor is last.

Run: ``python bench/anomaly_server.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from watchkeeper.analysis.anomaly import ANOMALY_THRESHOLD, AnomalyDetector
from watchkeeper.analysis.streaming import WARMUP, StreamScorer
from watchkeeper.analysis.watch import AnalysisWatch
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

SERIES = 10_000
TICK_S = 30.0
PER_HOUR = 120


def cpu_min(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def scorer_tick(series: int, repeats: int) -> tuple[float, float, float]:
    """(CPU seconds a tick, state bytes a series, tracemalloc bytes a series)."""
    rng = np.random.default_rng(0)
    keys = rng.integers(-2**62, 2**62, series)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    scorer = StreamScorer(series)
    scorer.update(keys, rng.normal(size=series))
    traced = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    for _ in range(30):
        scorer.update(keys, rng.normal(size=series))
    values = rng.normal(size=series)
    return cpu_min(lambda: scorer.update(keys, values), repeats), \
        scorer.nbytes / series, traced / series


def server_tick(series: int, repeats: int) -> float:
    """CPU seconds of a whole tick: queries, scores, top 20 written."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "d", background=False)
        now = int(time.time() * 1000)
        rng = np.random.default_rng(1)
        per = series // 10
        for q in range(10):
            for i in range(per):
                labels = {"__name__": f"bench_gauge_{q}", "instance": f"host-{i}", "job": "b"}
                for k in range(4):
                    store.append(labels, now - (3 - k) * 30_000, float(rng.normal()))
        store.commit()
        watch = AnalysisWatch(store, Engine(store), [f"bench_gauge_{q}" for q in range(10)],
                              max_series=series)
        for _ in range(3):
            watch.score_tick(now)
        cpu = cpu_min(lambda: watch.score_tick(now), repeats)
        assert len(watch.scorer) == series
        store.close()
    return cpu


def flag_rates(series: int, hours: int) -> dict[str, float]:
    rng = np.random.default_rng(2)
    draws = {"gaussian": lambda: rng.normal(size=series),
             "laplace": lambda: rng.laplace(size=series) / np.sqrt(2),
             "student-t(5)": lambda: rng.standard_t(5, size=series)}
    out = {}
    keys = np.arange(series, dtype=np.int64)
    for name, draw in draws.items():
        scorer = StreamScorer(series)
        hit = np.zeros((series, hours), dtype=bool)
        for t in range(WARMUP + hours * PER_HOUR):
            s = scorer.update(keys, 100 + 5 * draw())
            if t >= WARMUP:
                hit[:, (t - WARMUP) // PER_HOUR] |= s >= ANOMALY_THRESHOLD
        out[name] = float(hit.mean())
    return out


def shift_delay(series: int) -> tuple[float, float]:
    rng = np.random.default_rng(3)
    keys = np.arange(series, dtype=np.int64)
    scorer = StreamScorer(series)
    for _ in range(300):
        scorer.update(keys, rng.normal(size=series))
    first = scorer.update(keys, 4 + rng.normal(size=series)) >= ANOMALY_THRESHOLD
    second = scorer.update(keys, 4 + rng.normal(size=series)) >= ANOMALY_THRESHOLD
    return float(first.mean()), float((first | second).mean())


def anchor(points: int, detectors: int) -> tuple[float, float]:
    """The NAB detector: (CPU seconds a point, bytes a series once its history is full)."""
    rng = np.random.default_rng(4)
    data = rng.normal(size=points)
    det = AnomalyDetector()
    for v in data[:3000]:
        det.update(v)
    per_point = cpu_min(lambda: [det.update(v) for v in data[3000:]], 3) / (points - 3000)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    kept = [AnomalyDetector() for _ in range(detectors)]
    for d in kept:
        for v in data[:600]:
            d.update(v)
    traced = (tracemalloc.get_traced_memory()[0] - base) / detectors
    tracemalloc.stop()
    return per_point, traced


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=SERIES)
    ap.add_argument("--hours", type=int, default=6)
    args = ap.parse_args()
    n = args.series
    a_point, a_bytes = anchor(4000, 20)
    a_tick = a_point * n
    s_tick, s_state, s_traced = scorer_tick(n, 30)
    w_tick = server_tick(n, 5)
    rates = flag_rates(n, args.hours)
    within1, within2 = shift_delay(n)
    print(f"series: {n:,}, one tick every {TICK_S:.0f} s")
    print(f"anchor (NAB detector): {a_point * 1e6:.1f} us a point -> {a_tick * 1000:.0f} ms "
          f"a tick = {100 * a_tick / TICK_S:.2f} % of a core; {a_bytes:,.0f} bytes a series")
    print(f"streaming scorer alone: {s_tick * 1000:.1f} ms a tick = "
          f"{100 * s_tick / TICK_S:.3f} % of a core")
    print(f"whole server tick (10 queries, score, record top 20): {w_tick * 1000:.0f} ms = "
          f"{100 * w_tick / TICK_S:.2f} % of a core (goal <= 1 %: "
          f"{'met' if w_tick / TICK_S <= 0.01 else 'NOT met'})")
    print(f"memory: {s_state:.0f} bytes a series in state, {s_traced:.0f} traced "
          f"(goal <= 200: {'met' if max(s_state, s_traced) <= 200 else 'NOT met'})")
    for name, rate in rates.items():
        goal = f" (goal <= 1 %: {'met' if rate <= 0.01 else 'NOT met'})" \
            if name == "gaussian" else ""
        print(f"series-hours flagged on stationary {name} noise over {args.hours} h: "
              f"{100 * rate:.2f} %{goal}")
    print(f"4 sigma level shift caught: {100 * within1:.1f} % at the first evaluation, "
          f"{100 * within2:.1f} % within two")
    print(f"ratio ours/anchor, CPU a tick (scorer alone): {s_tick / a_tick:.5f}")


if __name__ == "__main__":
    main()
