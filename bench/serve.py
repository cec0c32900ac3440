"""watchkeeper serve: idle cost, scraping 50 targets x 1,000 series, and HTTP throughput.

1. Idle cost with defaults at a 1 s collect interval (CPU % of one core, RSS), against
   prometheus-node-exporter scraped once a second over the same window (the anchor).
2. 50 simulated targets x 1,000 series every 5 s, scraped by watchkeeper and by a real
   Prometheus at the same time: scrapes on time, ingested/expected, scrape-to-queryable delay.
3. ``/health/ready`` and ``/metrics`` requests/s under wrk, against a bare uvicorn app
   answering the same bodies, both up at once, rounds alternated, medians.

    .venv/bin/python bench/serve.py            # about 4 minutes
    .venv/bin/python bench/serve.py --quick    # shorter windows, same shape
    .venv/bin/python bench/serve.py --only scraping
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ROWS: list[tuple[str, float, float, str]] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def query(base: str, expr: str, at: float | None = None, timeout: float = 10) -> list:
    params = {"query": expr, **({"time": f"{at:.3f}"} if at else {})}
    body = json.loads(get(f"{base}/api/v1/query?" + urllib.parse.urlencode(params), timeout))
    return body["data"]["result"]


def wait(probe, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gave up waiting for {probe}")


def cpu_rss(pid: int) -> tuple[float, int]:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu, int(fields[21]) * os.sysconf("SC_PAGE_SIZE")


def start_serve(workdir: Path, config: dict, collect: float = 1.0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = {**config, "web": {"listen_address": f"127.0.0.1:{port}"},
              "global": {**config.get("global", {}), "collect_interval": f"{collect}s"}}
    path = workdir / "wk.yml"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen([PY, "-m", "watchkeeper.cli.main", "serve", "--config", str(path),
                             "--data", str(workdir / "data"), "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    wait(lambda: get(f"{base}/health/live"))
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def row(name: str, ours: float, anchor: float, note: str = "") -> None:
    ratio = ours / anchor if anchor else float("inf")
    ROWS.append((name, ours, anchor, note))
    print(f"{name:<52} ours {ours:>12.4g}  anchor {anchor:>12.4g}  ratio {ratio:6.2f}  {note}",
          flush=True)


# -- 1. idle ---------------------------------------------------------------------------------
def idle(seconds: float) -> None:
    exporter = shutil.which("prometheus-node-exporter")
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_serve(Path(tmp), {})
        anchor = None
        if exporter:
            port = free_port()
            anchor = subprocess.Popen([exporter, f"--web.listen-address=127.0.0.1:{port}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait(lambda: get(f"http://127.0.0.1:{port}/metrics"))
        try:
            time.sleep(5)  # past start-up
            c0, _ = cpu_rss(proc.pid)
            a0 = cpu_rss(anchor.pid)[0] if anchor else 0.0
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                if anchor:  # node_exporter only works when scraped: once a second
                    get(f"http://127.0.0.1:{port}/metrics")
                time.sleep(1)
            elapsed = time.monotonic() - t0
            c1, rss = cpu_rss(proc.pid)
            a1, arss = cpu_rss(anchor.pid) if anchor else (0.0, 0)
            samples = query(base, "count({__name__=~'node_.+'})")
        finally:
            stop(proc)
            if anchor:
                anchor.terminate()
                anchor.wait()
    ours_cpu = (c1 - c0) / elapsed * 100
    anchor_cpu = (a1 - a0) / elapsed * 100 if anchor else 1.0
    print(f"idle: {samples[0]['value'][1] if samples else 0} node_* series per collection")
    row("idle CPU % of one core (1 s collect)", ours_cpu, anchor_cpu,
        f"target <= 1%: {'ok' if ours_cpu <= 1 else 'OVER'}")
    row("idle RSS MB", rss / 2**20, (arss / 2**20) if anchor else 120.0,
        f"target <= 120 MB: {'ok' if rss <= 120 * 2**20 else 'OVER'}")


# -- 2. scraping -----------------------------------------------------------------------------
class SimTargets:
    def __init__(self, count: int, series: int) -> None:
        self.servers = []
        # per port, (arrival time, scraper): each scraper's hits are its expected scrapes
        self.hits: dict[int, list[tuple[float, str]]] = {}
        self.ports = []
        for _ in range(count):
            port = free_port()
            self.hits[port] = []
            body = b"# TYPE sim_value gauge\n" + b"".join(
                b'sim_value{i="%d"} %d\n' % (i, i) for i in range(series))
            self.servers.append(self._server(port, body))
            self.ports.append(port)

    def _server(self, port: int, body: bytes) -> ThreadingHTTPServer:
        hits = self.hits[port]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                agent = self.headers.get("User-Agent", "")
                hits.append((time.time(), "prometheus" if agent.startswith("Prometheus")
                             else "watchkeeper"))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # a scraper gave up
                    pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def scrapes(self, scraper: str, start: float, end: float) -> list[list[float]]:
        """Per target, the arrival times of ``scraper``'s requests within (start, end]."""
        return [[t for t, who in list(self.hits[p]) if who == scraper and start < t <= end]
                for p in self.ports]

    def close(self) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()


def scraping(seconds: float, targets: int = 50, series: int = 1000, interval: int = 5) -> None:
    sim = SimTargets(targets, series)
    addresses = [f"127.0.0.1:{p}" for p in sim.ports]
    prometheus = shutil.which("prometheus")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scrape = [{"job_name": "sim", "scrape_interval": f"{interval}s",
                   "scrape_timeout": f"{interval - 1}s",
                   "static_configs": [{"targets": addresses}]}]
        proc, base = start_serve(tmp, {"scrape_configs": scrape,
                                       "checks": [{"type": "memory"}]}, collect=5)
        prom = None
        if prometheus:
            pport = free_port()
            (tmp / "prom.yml").write_text(json.dumps({"scrape_configs": scrape}))
            prom = subprocess.Popen([prometheus, f"--config.file={tmp / 'prom.yml'}",
                                     f"--storage.tsdb.path={tmp / 'prom'}",
                                     f"--web.listen-address=127.0.0.1:{pport}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pbase = f"http://127.0.0.1:{pport}"
            wait(lambda: get(f"{pbase}/-/ready"))
        delays = []
        try:
            time.sleep(interval * 2)  # every target scraped at least once
            start = time.time()
            last_seen = 0.0
            while time.time() - start < seconds:
                rows = query(base, 'max(timestamp(up{job="sim"}))')
                ts = float(rows[0]["value"][1]) if rows else 0.0
                now = time.time()
                if ts > last_seen and last_seen:
                    delays.append(now - ts)
                last_seen = ts
                time.sleep(0.2)
            end = time.time()
            # samples carry their scrape's start time, a few ms before the target saw the
            # request; a scrape in flight at `end` lands within the interval: let it land
            time.sleep(interval + 2)
            window = f"[{(end - start) * 1000:.0f}ms]"
            counted = f'sum(count_over_time(sim_value{{job="sim"}}{window}))'
            clock = time.perf_counter()
            rng = query(base, counted, end, 300)
            count_seconds = time.perf_counter() - clock
            ups = query(base, f'sum(count_over_time(up{{job="sim"}}{window}))', end, 300)
            late = query(base, "watchkeeper_scrapes_late_total")
            # where a late scrape's time went: the event loop stalled, or the scrape was slow
            lag = query(base, f"max(max_over_time(watchkeeper_event_loop_lag_seconds{window}))",
                        end)
            slowest = query(base, f'max(max_over_time(scrape_duration_seconds{{job="sim"}}'
                                  f'{window}))', end)
            ours_ingested = float(rng[0]["value"][1]) if rng else 0.0
            ours_scrapes = float(ups[0]["value"][1]) if ups else 0.0
            if prom:
                clock = time.perf_counter()
                prng = query(pbase, counted, end, 300)
                p_count_seconds = time.perf_counter() - clock
                p_ingested = float(prng[0]["value"][1]) if prng else 0.0
        finally:
            stop(proc)
            if prom:
                prom.terminate()
                prom.wait()
            sim.close()
    ours_hits = sim.scrapes("watchkeeper", start, end)
    expected_scrapes = sum(len(h) for h in ours_hits)
    print(f"scrape window {end - start:.0f}s: {targets} targets x {series} series every "
          f"{interval}s; scrape slots skipped by overrun: "
          f"{late[0]['value'][1] if late else '0'}")
    gaps = [(b - a, b - start) for times in ours_hits for a, b in itertools.pairwise(times)]
    worst = max(gaps, default=(0.0, 0.0))
    print(f"worst gap {worst[0]:.1f}s, ending {worst[1]:.0f}s into the window; worst "
          f"event-loop lag {_first(lag):.3f}s; slowest scrape {_first(slowest):.3f}s")
    row("scrapes the targets saw / slots in the window", expected_scrapes,
        targets * (end - start) / interval, "(window edges make +-1 slot per target)")
    p_hits = sim.scrapes("prometheus", start, end) if prom else []
    row("longest gap between two scrapes of a target, s", _worst_gap(ours_hits),
        _worst_gap(p_hits) if prom else float(interval),
        "anchor: Prometheus's, same targets" if prom else "anchor: the interval")
    row("scrapes stored / scrapes the targets saw", ours_scrapes, expected_scrapes)
    row("ingested / expected (samples of the scrapes the targets saw)", ours_ingested,
        expected_scrapes * series)
    if prom:
        p_expected = sum(len(h) for h in p_hits) * series
        row("Prometheus: ingested / expected, same definition", p_ingested, p_expected)
        row(f"count_over_time over {targets * series} series, query s", count_seconds,
            p_count_seconds, "PromQL over the scraped window")
    if delays:
        row("scrape-to-queryable delay s (median)", statistics.median(delays), float(interval),
            "anchor: the scrape interval")


def _first(rows: list) -> float:
    return float(rows[0]["value"][1]) if rows else float("nan")


def _worst_gap(hits: list[list[float]]) -> float:
    gaps = [b - a for times in hits for a, b in itertools.pairwise(times)]
    return max(gaps) if gaps else 0.0


# -- 3. throughput ---------------------------------------------------------------------------
BARE = '''
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
ready = open(sys.argv[2], "rb").read(); metrics = open(sys.argv[3], "rb").read()
async def r(request): return Response(ready, media_type="application/health+json")
async def m(request): return Response(metrics, media_type="text/plain; version=0.0.4")
app = Starlette(routes=[Route("/health/ready", r), Route("/metrics", m)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
'''


def wrk(url: str, seconds: int, header: str | None = None) -> float:
    extra = ["-H", header] if header else []
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", *extra, url], capture_output=True,
                         text=True, timeout=seconds + 30, check=True).stdout
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if not match or "Non-2xx" in out:
        raise RuntimeError(f"wrk output not understood:\n{out}")
    return float(match.group(1))


def throughput(rounds: int, seconds: int) -> None:
    if not shutil.which("wrk"):
        print("throughput: wrk is not installed; skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        proc, base = start_serve(tmp, {"checks": [{"type": "memory"}, {"type": "disk"}]}, 5)
        ready, metrics = tmp / "ready", tmp / "metrics"
        ready.write_bytes(get(f"{base}/health/ready"))
        metrics.write_bytes(get(f"{base}/metrics"))
        port = free_port()
        bare = subprocess.Popen([PY, "-c", BARE, str(port), str(ready), str(metrics)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bbase = f"http://127.0.0.1:{port}"
        try:
            wait(lambda: get(f"{bbase}/metrics"))
            for path in ("/health/ready", "/metrics"):
                ours, anchor = [], []
                for _ in range(rounds):
                    ours.append(wrk(base + path, seconds))
                    anchor.append(wrk(bbase + path, seconds))
                row(f"{path} requests/s (wrk -c16)", statistics.median(ours),
                    statistics.median(anchor), "anchor: bare uvicorn, same body")
        finally:
            stop(proc)
            bare.terminate()
            bare.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("idle", "scraping", "throughput"),
                        help="Run one part.")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.only in (None, "idle"):
        idle(20 if args.quick else 60)
    if args.only in (None, "scraping"):
        scraping(40 if args.quick else 120)
    if args.only in (None, "throughput"):
        throughput(3 if args.quick else 5, 3)
    worst = max(ROWS, key=lambda r: r[1] / r[2] if r[2] else float("inf"))
    print(f"worst ratio: {worst[0]}: {worst[1] / worst[2]:.2f}")


if __name__ == "__main__":
    main()
