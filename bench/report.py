"""A 7-day report over 10,000 series: build time and page size, against the issue's goal
(at most 3 s and 1 MB).

Builds (or reuses, with ``--data``) a store of ``--series`` series over 14 days at
``--interval`` seconds, shaped like a real one: host-like gauges (a few with a level shift),
the HTTP request histograms of 25 jobs, the scrape series of 100 targets, 30 health checks
(two with an outage), 20 filesystems, ALERTS episodes, the self-metrics, and an alert
history and error store beside it. Then builds the week's report ``--rounds`` times and
prints the fastest build, each section's share of it, and the HTML and Markdown sizes.

There is no outside anchor for a whole report (Grafana's reporting is a paid plug-in over
a running server); the goal is the yardstick, printed last as ours/goal.

Run: ``python bench/report.py [--series 10000 --interval 300 --rounds 3 --data DIR]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

DAY = 86400
GOAL_SECONDS, GOAL_BYTES = 3.0, 1_000_000
LE = ("0.05", "0.1", "0.25", "0.5", "1", "+Inf")


def build_store(data: Path, series: int, interval: float, end: float) -> int:
    from watchkeeper.tsdb.store import Store

    t = np.arange(end - 14 * DAY, end + 1, interval)
    ms = (t * 1000).astype(np.int64)
    week = t >= end - 7 * DAY
    rng = np.random.default_rng(0)
    n = 0
    with Store.open(data, background=False) as store:
        def put(labels: dict[str, str], values: np.ndarray) -> None:
            nonlocal n
            store.append_array(labels, ms, np.asarray(values, dtype=float))
            n += 1

        for job in range(25):
            for route in range(4):
                for code, share in (("200", 0.99), ("500", 0.01)):
                    base = {"job": f"svc{job}", "http_route": f"/r{route}",
                            "http_response_status_code": code}
                    reqs = np.cumsum(rng.poisson(5 * interval * share, len(t)).astype(float))
                    slow = np.where(week, 1.3, 1.0)
                    for le in LE:
                        frac = 1.0 if le == "+Inf" else 1 - np.exp(-float(le) / (0.1 * slow))
                        put({"__name__": "http_server_request_duration_seconds_bucket",
                             **base, "le": le}, np.floor(reqs * frac))
                    put({"__name__": "http_server_request_duration_seconds_count", **base}, reqs)
                    put({"__name__": "http_server_request_duration_seconds_sum", **base},
                        reqs * 0.1)
        for target in range(100):
            base = {"job": f"svc{target % 25}", "instance": f"10.0.0.{target}:8000"}
            put({"__name__": "up", **base}, (rng.random(len(t)) > 0.001).astype(float))
            put({"__name__": "scrape_duration_seconds", **base}, rng.gamma(2, 0.01, len(t)))
            put({"__name__": "scrape_samples_scraped", **base}, np.full(len(t), 500.0))
        for check in range(30):
            status = np.ones(len(t))
            if check < 2:
                status[-(check + 2) * 200:-(check + 2) * 200 + 12] = 0
            put({"__name__": "watchkeeper_health_status", "check": f"check{check}"}, status)
        for fs in range(20):
            base = {"mountpoint": f"/mnt/{fs}", "fstype": "ext4", "device": f"sd{fs}"}
            used = 10e9 + (fs * 0.2e9) * (t - t[0]) / DAY + rng.normal(0, 1e7, len(t))
            put({"__name__": "node_filesystem_size_bytes", **base}, np.full(len(t), 500e9))
            put({"__name__": "node_filesystem_avail_bytes", **base}, 500e9 - used)
            put({"__name__": "node_filesystem_readonly", **base}, np.zeros(len(t)))
        for alert in range(10):
            on = (np.sin(t / (3600 * (alert + 2))) > 0.95) & week
            if on.any():
                store.append_array({"__name__": "ALERTS", "alertname": f"Alert{alert}",
                                    "alertstate": "firing"}, ms[on], np.ones(int(on.sum())))
                n += 1
        put({"__name__": "watchkeeper_tsdb_head_series"}, np.full(len(t), float(series)))
        put({"__name__": "watchkeeper_samples_appended_total"},
            np.cumsum(np.full(len(t), series * 1.0)))
        i = 0
        while n < series:
            v = 50 + 10 * np.sin(t / DAY * 2 * np.pi) + rng.normal(0, 2, len(t))
            if i % 1600 == 7:
                v[-len(t) // 10:] += 40
            put({"__name__": f"bench_gauge_{i % 80}", "shard": str(i)}, v)
            i += 1
    return n


def plant_side_stores(data: Path, end: float) -> None:
    """A few incidents and error groups, where serve keeps them."""
    from watchkeeper.alerting.history import AlertHistory
    from watchkeeper.alerting.state import FIRING, INACTIVE, Alert, StateChange
    from watchkeeper.errorstore import ErrorStore
    from watchkeeper.tsdb.labels import Labels

    (data.parent / f"{data.name}-alerting").mkdir(exist_ok=True)
    history = AlertHistory(data.parent / f"{data.name}-alerting" / "alerting.db")
    for k in range(200):
        lo = int((end - 7 * DAY + k * 3000) * 1000)
        alert = Alert(Labels.of({"alertname": f"Alert{k % 10}", "check": f"check{k % 30}"}),
                      {}, 1.0, FIRING, lo)
        history.record([StateChange(f"Alert{k % 10}", alert, INACTIVE, FIRING, lo)])
        history.record([StateChange(f"Alert{k % 10}", alert, FIRING, INACTIVE, lo + 600_000)])
    history.close()
    errors = ErrorStore(data.parent / f"{data.name}-errors" / "errors.db")
    errors.add_events([{"exception": {"values": [{"type": f"E{k}", "value": "boom",
                                                  "stacktrace": {"frames": [
                                                      {"function": f"f{k}",
                                                       "module": "app"}]}}]},
                        "timestamp": end - k * 3000} for k in range(50)])
    errors.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--interval", type=float, default=300.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", type=Path, help="reuse (or build once into) this store folder")
    args = ap.parse_args()

    from watchkeeper.reports import build_report, open_local, render_html, render_markdown

    tmp = None
    data = args.data
    if data is None:
        tmp = tempfile.TemporaryDirectory(prefix="wk-report-bench-")
        data = Path(tmp.name) / "data"
    stamp = data.parent / f"{data.name}.end"
    if stamp.exists():
        end = float(stamp.read_text())
        print(f"store: reusing {data}")
    else:
        end = float(int(time.time()) // 300 * 300)
        clock = time.perf_counter()
        n = build_store(data, args.series, args.interval, end)
        plant_side_stores(data, end)
        stamp.write_text(str(end))
        print(f"store: {n} series x 14 days at {args.interval:g} s built in "
              f"{time.perf_counter() - clock:.0f} s")
    source, close = open_local(data)
    try:
        runs = []
        for _ in range(args.rounds):
            clock, cpu = time.perf_counter(), time.process_time()
            report = build_report(source, "7d", end)
            html = render_html(report)
            md = render_markdown(report)
            runs.append((time.perf_counter() - clock, time.process_time() - cpu, report,
                         html, md))
    finally:
        close()
    best, cpu, report, html, md = min(runs, key=lambda r: r[0])
    best_cpu = min(r[1] for r in runs)
    print(f"rounds: {args.rounds}; wall: {', '.join(f'{r[0]:.2f} s' for r in runs)}; "
          f"CPU: {', '.join(f'{r[1]:.2f} s' for r in runs)}")
    for s in report.sections:
        print(f"  {s.id:<13} {s.seconds:6.2f} s wall  {'; '.join(s.problems)}")
    html_bytes, md_bytes = len(html.encode()), len(md.encode())
    print(f"build + render, fastest: {best:.2f} s wall, {best_cpu:.2f} s CPU "
          f"(goal {GOAL_SECONDS:g} s; on a busy machine the CPU time is the figure to trust)")
    print(f"HTML: {html_bytes / 1e3:.0f} kB with {html.count('<svg')} charts; "
          f"Markdown: {md_bytes / 1e3:.0f} kB (goal {GOAL_BYTES / 1e6:g} MB)")
    print(f"ratio ours/goal: time {best / GOAL_SECONDS:.2f} wall, "
          f"{best_cpu / GOAL_SECONDS:.2f} CPU, size "
          f"{html_bytes / GOAL_BYTES:.2f}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
