"""Does a worst-case query starve the rest of the server? /health/live latency, idle and
while 4 worst-case queries run at once, on one `watchkeeper serve`, in the same run.

The server holds 2,000 series x 1 h at 15 s (one label value a backtracking regex engine
would choke on). Four clients each re-issue one heavy query until the measuring window
ends: a catastrophic-backtracking regex over every series, a label_replace with nested
quantifiers, a 3,600-step range query over all series and a fine subquery. Meanwhile a
prober asks /health/live (and /metrics, and sends a remote-write-sized import) every
20 ms on fresh connections, as a kubelet would. The anchor is the idle figure of the same
run: the ratio loaded/idle is printed last (goal: loaded p99 <= 100 ms).

    .venv/bin/python bench/query_isolation.py            # about 1 minute
    .venv/bin/python bench/query_isolation.py --seconds 10
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

PY = sys.executable
SERIES = 2_000
EVIL = "a" * 5_000 + "!"
T_END = 1_700_003_600
QUERIES = [
    ("query", {"query": 'count(bench_x{v=~"(a+)+b"})'}),
    ("query", {"query": 'count(label_replace(bench_x, "w", "$1", "v", "((a|aa)+)+b"))'}),
    ("query_range", {"query": "sum by (g) (rate(bench_x[5m]))", "start": T_END - 3_600,
                     "end": T_END, "step": "1"}),
    ("query", {"query": "max_over_time(deriv(bench_x[2m])[1h:1s])"}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, data: bytes | None = None, timeout: float = 60) -> int:
    try:
        with urllib.request.urlopen(url, data=data, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def start_serve(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = {"web": {"listen_address": f"127.0.0.1:{port}"}, "collect_host": False,
              "query": {"timeout": "20s"}}
    path = workdir / "wk.yml"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen([PY, "-m", "watchkeeper.cli.main", "serve", "--config", str(path),
                             "--data", str(workdir / "data"), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if request(f"{base}/health/live", timeout=2) == 200:
                return proc, base
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            stop(proc)
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load(base: str) -> None:
    """2,000 series x 240 samples through the import endpoint, in bodies under the cap."""
    lines = []
    for i in range(SERIES):
        v = EVIL if i == 0 else f"a{i}"
        head = f'bench_x{{i="{i}",g="{i % 10}",v="{v}"}}'
        lines.extend(f"{head} {k * (i % 7 + 1)} {(T_END - 3_600 + 15 * k) * 1000}"
                     for k in range(240))
        if len(lines) > 100_000 or i == SERIES - 1:
            status = request(f"{base}/api/v1/import/prometheus",
                             data=("\n".join(lines) + "\n").encode())
            if status not in (200, 204):
                raise SystemExit(f"import failed: HTTP {status}")
            lines = []


def probe(base: str, seconds: float) -> dict[str, list[float]]:
    """Latency (ms) of /health/live, /metrics and a small import, every 20 ms."""
    out: dict[str, list[float]] = {"live": [], "metrics": [], "write": []}
    body = b'bench_probe{k="1"} 1\n'
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        t = time.perf_counter()
        status = request(f"{base}/health/live", timeout=30)
        out["live"].append((time.perf_counter() - t) * 1000)
        assert status == 200, status
        if i % 10 == 0:
            t = time.perf_counter()
            request(f"{base}/metrics", timeout=30)
            out["metrics"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            request(f"{base}/api/v1/import/prometheus", data=body, timeout=30)
            out["write"].append((time.perf_counter() - t) * 1000)
        i += 1
        time.sleep(0.02)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def hammer(base: str, path: str, params: dict, stop_at: float, log: list) -> None:
    while time.monotonic() < stop_at:
        t = time.perf_counter()
        url = f"{base}/api/v1/{path}?" + urllib.parse.urlencode(
            {"time": T_END, **params})
        status = request(url, timeout=60)
        log.append((params["query"][:40], status, time.perf_counter() - t))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_serve(Path(tmp))
        try:
            load(base)
            idle = probe(base, args.seconds)
            log: list = []
            stop_at = time.monotonic() + args.seconds
            workers = [threading.Thread(target=hammer, args=(base, p, q, stop_at, log))
                       for p, q in QUERIES]
            for w in workers:
                w.start()
            time.sleep(0.5)  # the queries are running
            busy = probe(base, args.seconds - 0.5)
            for w in workers:
                w.join(120)
        finally:
            stop(proc)
    print(f"{'query (4 at once, repeated)':42} {'runs':>5} {'status':>10} {'median s':>9}")
    for name in dict.fromkeys(n for n, _, _ in log):
        runs = [(s, d) for n, s, d in log if n == name]
        statuses = ",".join(sorted({str(s) for s, _ in runs}))
        print(f"{name:42} {len(runs):5} {statuses:>10} "
              f"{statistics.median(d for _, d in runs):9.2f}")
    print(f"\n{'endpoint':18} {'idle p50':>9} {'idle p99':>9} {'busy p50':>9} {'busy p99':>9}"
          f" {'n':>5}  (ms)")
    for key in ("live", "metrics", "write"):
        print(f"{key:18} {pct(idle[key], 50):9.1f} {pct(idle[key], 99):9.1f} "
              f"{pct(busy[key], 50):9.1f} {pct(busy[key], 99):9.1f} {len(busy[key]):5}")
    p99 = pct(busy["live"], 99)
    print(f"\n/health/live p99 under 4 worst-case queries: {p99:.1f} ms (goal <= 100 ms)")
    print(f"ratio busy/idle p99: {p99 / pct(idle['live'], 99):.2f}")


if __name__ == "__main__":
    main()
