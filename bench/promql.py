"""PromQL latency: our engine behind our /api/v1 against a real Prometheus, same samples.

Each scenario's samples go into Prometheus through promtool's OpenMetrics backfill and
into our store. Both answer over HTTP: Prometheus 2.x on 127.0.0.1, and our Starlette
app under uvicorn in a separate process; calls alternate between the two. Each line
prints the minimum latency over the runs of ours and of Prometheus, then the ratio
ours/Prometheus (minima: the machine may be shared, and load only ever adds time).

- 1 day at 60 s step over 60 s samples (about 1,100 series): ten typical dashboard and
  alert queries. Goal: each ratio <= 1.0, their median <= 0.6.
- 30 days at 1 h step over 5 min samples: the same queries with 5m/10m windows widened
  to 1h as a dashboard's $__rate_interval would be; our engine reads rollups where a
  query allows. Prometheus answers from hundreds of uncompacted backfilled blocks here,
  which slows it; read those ratios with that in mind.
- Instant queries over 50,000 series (50 targets x 1,000, 10 min at 15 s), as a server
  holds after scraping many targets. Goal: each ratio <= 2.0.

    .venv/bin/python bench/promql.py [--runs 15] [--instances 20] [--only 1d|30d|wide]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

QUERIES = [
    ("rate", 'rate(http_requests_total{code="500"}[5m])'),
    ("sum by rate", "sum by (job) (rate(http_requests_total[5m]))"),
    ("histogram_quantile", "histogram_quantile(0.99, sum by (job, le) "
                           "(rate(http_request_duration_seconds_bucket[5m])))"),
    ("topk", "topk(5, sum by (instance) (rate(http_requests_total[5m])))"),
    ("avg_over_time", "avg_over_time(node_memory_MemAvailable_bytes[10m])"),
    ("predict_linear", "predict_linear(node_filesystem_avail_bytes[1h], 4 * 3600)"),
    ("group_left join", "sum by (instance) (rate(http_requests_total[5m])) "
                        "* on(instance) group_left(version) build_info"),
    ("comparison filter", 'rate(http_requests_total{code="500"}[5m]) > 0.05'),
    ("error ratio", 'sum(rate(http_requests_total{code="500"}[5m])) '
                    "/ sum(rate(http_requests_total[5m]))"),
    ("increase 1h", "sum by (job) (increase(http_requests_total[1h]))"),
]
BUCKETS = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"]


def generate(n_instances: int, interval_s: int, span_s: int, end_s: int):  # type: ignore[no-untyped-def]
    """(labels, timestamps ms, values) of every series; deterministic."""
    rng = np.random.default_rng(7)
    ts_s = np.arange(end_s - span_s, end_s, interval_s, dtype=np.int64)
    n = len(ts_s)
    out = []
    jobs = [f"job{j}" for j in range(5)]
    for j, job in enumerate(jobs):
        for i in range(n_instances):
            inst = f"host{j}-{i}"
            for code, scale in (("200", 10.0), ("500", 0.3)):
                inc = rng.exponential(scale * interval_s / 15, n)
                vals = np.cumsum(inc)
                reset = rng.integers(n // 4, n)
                vals[reset:] -= vals[reset - 1]
                out.append(({"__name__": "http_requests_total", "job": job, "instance": inst,
                             "code": code}, ts_s, np.round(vals, 3)))
            per = rng.exponential(5 * interval_s / 15, (n, len(BUCKETS)))
            cum = np.cumsum(np.cumsum(per, axis=1), axis=0)
            for k, le in enumerate(BUCKETS):
                out.append(({"__name__": "http_request_duration_seconds_bucket", "job": job,
                             "instance": inst, "le": le}, ts_s, np.round(cum[:, k], 3)))
    for i in range(n_instances):
        inst = f"node{i}"
        mem = 8e9 + np.cumsum(rng.normal(0, 1e7, n))
        disk = 5e11 - np.arange(n) * rng.uniform(1e4, 1e5) + rng.normal(0, 1e6, n)
        out.append(({"__name__": "node_memory_MemAvailable_bytes", "instance": inst}, ts_s,
                    np.round(mem)))
        out.append(({"__name__": "node_filesystem_avail_bytes", "instance": inst,
                     "mountpoint": "/"}, ts_s, np.round(disk)))
    for j in range(5):
        for i in range(n_instances):
            out.append(({"__name__": "build_info", "instance": f"host{j}-{i}",
                         "version": f"1.{i % 3}"}, ts_s, np.ones(n)))
    # scrapes land a few milliseconds off the second, as real ones do
    return [(lab, ts * 1000 + 7, v) for lab, ts, v in out]


def write_openmetrics(series, path: Path) -> None:  # type: ignore[no-untyped-def]
    by_name: dict[str, list] = {}
    for item in series:
        by_name.setdefault(item[0]["__name__"], []).append(item)
    with path.open("w") as f:
        for name, items in by_name.items():
            f.write(f"# TYPE {name} gauge\n")
            for labels, ts, vals in items:
                lab = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())
                               if k != "__name__")
                head = f"{name}{{{lab}}} "
                f.write("".join(f"{head}{v!r} {t / 1000:.3f}\n"
                                for t, v in zip(ts.tolist(), vals.tolist(), strict=True)))
        f.write("# EOF\n")


def start_ours(data: Path, port: int, rollups: bool) -> subprocess.Popen:
    code = ("import uvicorn\n"
            "from watchkeeper.tsdb.store import Store\n"
            "from watchkeeper.promql.engine import Engine\n"
            "from watchkeeper.promql.http_api import create_app\n"
            f"store = Store.open({str(data)!r}, background=False)\n"
            f"app = create_app(store, Engine(store, rollups={rollups}))\n"
            f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='error')\n")
    return subprocess.Popen([sys.executable, "-c", code])


def wait_ready(url: str, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if httpx.get(url + "/api/v1/query", params={"query": "1"}, timeout=2).status_code \
                    == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not become ready")


def timed(client: httpx.Client, url: str, path: str, params: dict) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = client.get(f"{url}/api/v1/{path}", params=params, timeout=300)
    elapsed = time.perf_counter() - t0
    body = r.json()
    if body.get("status") != "success":
        raise SystemExit(f"{url}: {params['query']}: {body}")
    return elapsed, len(body["data"]["result"])


def generate_wide(targets: int, per_target: int, interval_s: int, span_s: int, end_s: int):  # type: ignore[no-untyped-def]
    """Many small series as a scrape of many targets leaves them: one gauge per target and
    index, samples a few milliseconds off the interval as real scrapes land."""
    rng = np.random.default_rng(11)
    ts_s = np.arange(end_s - span_s, end_s, interval_s, dtype=np.int64)
    out = []
    for t in range(targets):
        jitter = rng.integers(0, 40, len(ts_s))  # per scrape, shared by its series
        ts = ts_s * 1000 + jitter
        for i in range(per_target):
            out.append(({"__name__": "sim_value", "job": "sim", "instance": f"t{t}:9100",
                         "i": str(i)}, ts, np.full(len(ts), float(i))))
    return out


def scenario(title: str, series: list, queries: list[tuple[str, str]], path: str,
             params_base: dict, runs: int, rollups: bool = False, goal: str = "") -> list[float]:
    """Both engines over the same samples; per query the minimum over ``runs`` alternated
    runs of each, and the ratio ours/Prometheus (last). Returns the ratios."""
    from peers import free_port
    from prometheus_runner import PrometheusRunner
    from watchkeeper.tsdb.store import Store

    samples = sum(len(t) for _, t, _ in series)
    step = f", step {params_base['step']}s" if "step" in params_base else ""
    print(f"\n== {title}: {len(series):,} series, {samples:,} samples{step} ==", flush=True)
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_openmetrics(series, root / "data.om")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics",
                        str(root / "data.om"), str(root / "blocks")], check=True,
                       capture_output=True, timeout=1800)
        (root / "data.om").unlink()
        blocks = sum(1 for p in (root / "blocks").iterdir() if p.is_dir())
        print(f"(Prometheus reads {blocks} backfilled blocks, as promtool cut them)")
        store = Store.open(root / "ours", background=False, retention_ms=400 * 86_400_000)
        for labels, ts, vals in series:
            store.append_array(labels, ts, vals)
        store.flush()
        store.maintain()
        store.close()
        port = free_port()
        ours_proc = start_ours(root / "ours", port, rollups)
        ours_url = f"http://127.0.0.1:{port}"
        prom = PrometheusRunner(root / "prom", storage_path=root / "blocks",
                                config=PrometheusRunner.scrape_config([], "1m"),
                                extra_args=["--storage.tsdb.retention.time=100y"])
        prom.start()
        try:
            wait_ready(ours_url)
            print(f"{'query':22} {'ours ms':>9} {'prom ms':>9}  series  {'ratio':>6}")
            with httpx.Client() as client:
                for name, query in queries:
                    params = {**params_base, "query": query}
                    timed(client, ours_url, path, params)  # warm caches on both
                    timed(client, prom.url, path, params)
                    ours_t, prom_t = [], []
                    for _ in range(runs):
                        t, n_ours = timed(client, ours_url, path, params)
                        ours_t.append(t)
                        t, n_prom = timed(client, prom.url, path, params)
                        prom_t.append(t)
                    o, p = min(ours_t), min(prom_t)
                    ratios.append(o / p)
                    same = "" if n_ours == n_prom else f" (prometheus: {n_prom})"
                    print(f"{name:22} {o * 1000:9.1f} {p * 1000:9.1f}  {n_ours:6}{same}  "
                          f"{o / p:6.2f}", flush=True)
        finally:
            prom.stop()
            ours_proc.terminate()
            ours_proc.wait(timeout=30)
    print(f"worst ratio {max(ratios):.2f}, median ratio {statistics.median(ratios):.2f}  {goal}")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--instances", type=int, default=20,
                        help="instances per job (1 day scenario: 5 jobs x this x 11 series)")
    parser.add_argument("--only", choices=["1d", "30d", "wide"], action="append",
                        help="run only these scenarios (default: all)")
    args = parser.parse_args()
    only = set(args.only or ["1d", "30d", "wide"])
    end_s = int(time.time()) // 3600 * 3600 - 3600
    summary = []
    if "1d" in only:
        span = 86_400
        ratios = scenario("1 day at 60 s step", generate(args.instances, 60, span, end_s),
                          QUERIES, "query_range",
                          {"start": end_s - span + 3600, "end": end_s, "step": 60}, args.runs,
                          goal="(goal: each <= 1.0, median <= 0.6)")
        summary.append(("1 day at 60 s step", ratios))
    if "30d" in only:
        span = 30 * 86_400
        # 5m/10m windows widened to 1h, as a dashboard's $__rate_interval would be
        widened = [(n, q.replace("[5m]", "[1h]").replace("[10m]", "[1h]")) for n, q in QUERIES]
        ratios = scenario("30 days at 1 h step", generate(max(1, args.instances // 10), 300,
                                                          span, end_s),
                          widened, "query_range",
                          {"start": end_s - span + 3600, "end": end_s, "step": 3600},
                          args.runs, rollups=True)
        summary.append(("30 days at 1 h step", ratios))
    if "wide" in only:
        wide = [("count_over_time", "count_over_time(sim_value[10m])"),
                ("sum count_over_time", "sum(count_over_time(sim_value[10m]))"),
                ("sum by max_over_time", "sum by (instance) (max_over_time(sim_value[10m]))")]
        ratios = scenario("instant queries over 50,000 series, 10 min at 15 s",
                          generate_wide(50, 1000, 15, 600, end_s), wide, "query",
                          {"time": end_s}, args.runs, goal="(goal: each <= 2.0)")
        summary.append(("50,000 series, instant (goal <= 2.0 each)", ratios))
    print("\nsummary (ours/Prometheus, minima of alternated runs)")
    for title, ratios in summary:
        print(f"  {title:42} worst {max(ratios):.2f}  median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
