"""watchkeeper serve under an hour of mixed load: does anything grow, fail or get lost?

Load, all at once against one ``watchkeeper serve``:
  - 50 targets x 200 series scraped every 5 s,
  - remote-write pushes (100 series, one sample each, every second; every sample counted),
  - 20 dashboard queries/s (range and instant, the built-in panels' shapes),
  - 200 SSE stream clients (one snapshot each every 5 s),
  - rule evaluation every 5 s (recording rules and an always-firing alert),
  - a webhook receiver that fails 10 % of the notifications it gets.

Prints RSS, open files, threads, event-loop lag p99 (the server's own gauge, stored every
collect) and WAL size after the warm-up (``--warmup-minutes``; by default the first 10
minutes, or a fifth of a short run) and at the end, with the growth between them; then
every request by kind and status class, the 5xx count and the samples lost (pushed and
acknowledged, but not stored). Exit status 1 on any 5xx or lost sample. The last line is
the figures as JSON (``RESULT {...}``).

Memory is read every 2 s all along, and each figure is the median of the minute before it:
resident size swings by tens of MB within seconds with the queries in flight (decoded
windows, JSON being written), so one reading at each end measured the moment, not a trend.

    .venv/bin/python bench/soak.py                 # one hour
    .venv/bin/python bench/soak.py --minutes 5     # the same load, shorter
    .venv/bin/python bench/soak.py --minutes 25 --warmup-minutes 10   # the hour's warm-up
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
import cramjam
import psutil
from aiohttp import web

SRC = str(Path(__file__).resolve().parent.parent / "src")
sys.path.insert(0, SRC)
from watchkeeper.server.remote_write import encode_write_request  # noqa: E402

QUERIES = [
    "sum by (instance) (rate(soak_requests_total[1m]))",
    "job:soak_requests:rate1m",
    "histogram_quantile(0.9, sum by (le) (rate(soak_latency_seconds_bucket[1m])))",
    "sum(soak_push)",
    "up",
    "topk(5, soak_gauge)",
    "count by (job) (up)",
    "rate(process_cpu_seconds_total[1m])",
]
RULES = """
groups:
  - name: soak
    interval: 5s
    rules:
      - record: job:soak_requests:rate1m
        expr: sum by (job) (rate(soak_requests_total[1m]))
      - record: instance:soak_gauge:avg
        expr: avg by (instance) (soak_gauge)
      - alert: SoakAlwaysFiring
        expr: vector(1)
        labels: {severity: info}
      - alert: SoakTargetDown
        expr: up{job="soak"} == 0
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def target_body(tick: int, series: int) -> bytes:
    """About ``series`` series: counters by code, gauges, a 10-bucket histogram."""
    lines = ["# HELP soak_requests_total Requests.", "# TYPE soak_requests_total counter"]
    codes = max(1, (series - 12) // 2)
    lines += [f'soak_requests_total{{code="{c}"}} {tick * (c + 1)}' for c in range(codes)]
    lines += ["# TYPE soak_gauge gauge"]
    lines += [f'soak_gauge{{slot="{i}"}} {random.random()}' for i in range(codes)]
    lines += ["# TYPE soak_latency_seconds histogram"]
    total = 0
    for le in ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"):
        total += tick
        lines.append(f'soak_latency_seconds_bucket{{le="{le}"}} {total}')
    lines += [f"soak_latency_seconds_sum {tick * 0.1}", f"soak_latency_seconds_count {total}"]
    return ("\n".join(lines) + "\n").encode()


class Load:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.statuses: Counter[tuple[str, str]] = Counter()
        self.five_xx: list[str] = []
        self.no_answer: list[str] = []
        self.acked: list[int] = []  # timestamps of the pushes the server acknowledged
        self.hits = 0
        self.stream_messages = 0
        self.notifications: Counter[str] = Counter()
        self.live_ms: list[float] = []
        self.memory: list[tuple[float, float, float]] = []  # (monotonic, rss, file) bytes
        self.stop = asyncio.Event()
        self.inflight: set[asyncio.Task] = set()
        self.base = ""

    def count(self, kind: str, status: int, detail: str = "") -> None:
        """``status`` 599: no answer (connection error or none within the timeout)."""
        self.statuses[(kind, f"{status // 100}xx" if status != 599 else "no answer")] += 1
        if status == 599:
            self.no_answer.append(f"{kind} {detail[:200]}")
        elif status >= 500:
            self.five_xx.append(f"{kind} {status} {detail[:200]}")

    # -- the peers the server talks to ---------------------------------------------------
    async def start_peers(self) -> tuple[web.AppRunner, list[int], int]:
        ticks: Counter[int] = Counter()

        async def metrics(request: web.Request) -> web.Response:
            port = request.transport.get_extra_info("sockname")[1]
            ticks[port] += 1
            self.hits += 1
            return web.Response(body=target_body(ticks[port], self.args.series),
                                content_type="text/plain", charset="utf-8")

        async def hook(request: web.Request) -> web.Response:
            await request.read()
            if random.random() < 0.10:
                self.notifications["failed"] += 1
                return web.Response(status=500, text="failing on purpose")
            self.notifications["ok"] += 1
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        bound = []
        for _ in range(self.args.targets + 1):
            for attempt in range(20):  # a free port may be taken before we bind it
                port = free_port()
                try:
                    await web.TCPSite(runner, "127.0.0.1", port).start()
                    break
                except OSError:
                    if attempt == 19:
                        raise
            bound.append(port)
        return runner, bound[:-1], bound[-1]

    def config(self, ports: list[int], hook_port: int, listen: int) -> dict:
        (self.workdir / "rules.yml").write_text(RULES)
        return {
            "global": {"scrape_interval": "5s", "evaluation_interval": "5s",
                       "collect_interval": "5s"},
            "scrape_configs": [{"job_name": "soak", "static_configs": [
                {"targets": [f"127.0.0.1:{p}" for p in ports]}]}],
            "rule_files": ["rules.yml"],
            "alerting": {
                "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "1s",
                          "group_interval": "5s", "repeat_interval": "10s"},
                "receivers": [{"name": "hook", "webhook_configs": [
                    {"url": f"http://127.0.0.1:{hook_port}/hook"}]}]},
            "web": {"listen_address": f"127.0.0.1:{listen}"},
        }

    # -- load ----------------------------------------------------------------------------
    async def pusher(self, session: aiohttp.ClientSession) -> None:
        series = [{"__name__": "soak_push", "i": str(i)} for i in range(100)]
        while not self.stop.is_set():
            now = int(time.time() * 1000)
            body = bytes(cramjam.snappy.compress_raw(encode_write_request(
                [(labels, now, float(now % 1000)) for labels in series])))
            try:
                async with session.post(f"{self.base}/api/v1/write", data=body, headers={
                        "Content-Encoding": "snappy",
                        "Content-Type": "application/x-protobuf"}) as r:
                    text = await r.text()
                    self.count("remote_write", r.status, text)
                    if r.status == 204:
                        self.acked.append(now)
            except (TimeoutError, aiohttp.ClientError) as e:
                self.count("remote_write", 599, repr(e))
            await self._sleep(1.0)

    async def querier(self, session: aiohttp.ClientSession, rate: float) -> None:
        i = 0
        while not self.stop.is_set():
            expr = QUERIES[i % len(QUERIES)]
            i += 1
            now = time.time()
            if i % 2:
                path, params = "/api/v1/query_range", {"query": expr, "start": now - 900,
                                                       "end": now, "step": 15}
            else:
                path, params = "/api/v1/query", {"query": expr}
            if len(self.inflight) < self.args.max_inflight:  # as a browser bounds its requests
                task = asyncio.create_task(self._get(session, "query", path, params))
                self.inflight.add(task)
                task.add_done_callback(self.inflight.discard)
            else:
                self.statuses[("query", "skipped: too many in flight")] += 1
            await self._sleep(1.0 / rate)

    async def _get(self, session: aiohttp.ClientSession, kind: str, path: str,
                   params: dict) -> None:
        try:
            async with session.get(self.base + path, params=params) as r:
                self.count(kind, r.status, await r.text())
        except (aiohttp.ClientError, TimeoutError) as e:
            self.count(kind, 599, repr(e))

    async def streamer(self, session: aiohttp.ClientSession) -> None:
        while not self.stop.is_set():
            try:
                async with session.get(f"{self.base}/api/v1/stream/sse",
                                       params={"query": "sum(up)", "interval": "5000"},
                                       timeout=aiohttp.ClientTimeout(total=None)) as r:
                    self.count("stream", r.status)
                    if r.status != 200:
                        await self._sleep(1.0)
                        continue
                    async for line in r.content:
                        if line.startswith(b"data: "):
                            self.stream_messages += 1
                        if self.stop.is_set():
                            return
            except (aiohttp.ClientError, TimeoutError) as e:
                self.count("stream", 599, repr(e))
                await self._sleep(1.0)

    async def sampler(self, pid: int) -> None:
        proc = psutil.Process(pid)
        while not self.stop.is_set():
            memory = proc.memory_info()
            # resident file pages are ``shared`` on Linux
            self.memory.append((time.monotonic(), memory.rss, getattr(memory, "shared", 0)))
            await self._sleep(2.0)

    def recent_memory(self, seconds: float = 60.0) -> tuple[float, float]:
        """Median RSS and resident file pages (MB) over the last ``seconds``."""
        since = time.monotonic() - seconds
        recent = [m for m in self.memory if m[0] >= since] or self.memory[-1:]
        return (statistics.median(m[1] for m in recent) / 2**20,
                statistics.median(m[2] for m in recent) / 2**20)

    async def prober(self, session: aiohttp.ClientSession) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                async with session.get(f"{self.base}/health/live") as r:
                    await r.read()
                    self.count("health_live", r.status)
                    self.live_ms.append((time.perf_counter() - start) * 1000)
            except (TimeoutError, aiohttp.ClientError) as e:
                self.count("health_live", 599, repr(e))
            await self._sleep(0.5)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except TimeoutError:
            pass

    # -- figures -------------------------------------------------------------------------
    async def instant(self, session: aiohttp.ClientSession, expr: str) -> float | None:
        try:
            async with session.get(f"{self.base}/api/v1/query", params={"query": expr},
                                   timeout=aiohttp.ClientTimeout(total=120)) as r:
                body = await r.json()
        except (TimeoutError, aiohttp.ClientError):
            return None
        result = body.get("data", {}).get("result", [])
        return float(result[0]["value"][1]) if result else None

    async def lost(self, session: aiohttp.ClientSession, window: int) -> int:
        """Acknowledged samples missing from the store, series by series."""
        async with session.get(f"{self.base}/api/v1/query",
                               params={"query": f"soak_push[{window}s]"},
                               timeout=aiohttp.ClientTimeout(total=300)) as r:
            body = await r.json()
        stored = {s["metric"]["i"]: {round(float(t) * 1000) for t, _ in s["values"]}
                  for s in body["data"]["result"]}
        return sum(len(set(self.acked) - stored.get(str(i), set())) for i in range(100))

    async def figures(self, session: aiohttp.ClientSession, pid: int,
                      window_s: float) -> dict[str, float]:
        proc = psutil.Process(pid)
        wal = self.workdir / "data" / "wal"
        lag = await self.instant(session, "quantile_over_time(0.99, watchkeeper_event_loop_"
                                 f'lag_seconds{{job="watchkeeper"}}[{max(10, int(window_s))}s])')
        recent = self.live_ms[-max(1, int(window_s * 2)):]
        # the store's read caches fill up to their budgets (128 + 64 MiB) as queries touch
        # more data: bounded by design, so the growth that matters is RSS without them
        caches = await self.instant(
            session, 'sum(avg_over_time(watchkeeper_tsdb_cache_bytes{job="watchkeeper"}[1m]))')
        # resident file pages: the interpreter's and libraries' code; what the process
        # allocated itself is the rest
        rss, mapped = self.recent_memory()
        return {
            "rss_mb": rss,
            "caches_mb": (caches or 0.0) / 2**20,
            "rss_less_caches_mb": rss - (caches or 0.0) / 2**20,
            "rss_file_mb": mapped,
            "rss_anon_less_caches_mb": rss - mapped - (caches or 0.0) / 2**20,
            "open_files": proc.num_fds(),
            "threads": proc.num_threads(),
            "loop_lag_p99_ms": (lag or 0.0) * 1000,
            "live_p99_ms": statistics.quantiles(recent, n=100)[98] if len(recent) > 1 else 0.0,
            "db_mb": sum(p.stat().st_size for p in (self.workdir / "data").glob("*.sqlite3*"))
            / 2**20,
            "wal_mb": sum(p.stat().st_size for p in wal.glob("*") if p.is_file()) / 2**20
            if wal.exists() else 0.0,
        }


def print_figures(start: dict[str, float], end: dict[str, float]) -> None:
    print(f"{'':<18}{'after warm-up':>14}{'end':>12}{'growth':>10}")
    for key in start:
        a, b = start[key], end[key]
        growth = f"{(b - a) / a * 100:+.1f}%" if a else "-"
        print(f"{key:<18}{a:>14.2f}{b:>12.2f}{growth:>10}")


async def run(args: argparse.Namespace) -> dict:
    duration = args.minutes * 60
    warmup = args.warmup_minutes * 60 if args.warmup_minutes is not None \
        else min(600.0, duration / 5)
    if not 0 < warmup < duration:
        raise SystemExit("--warmup-minutes must be above 0 and below --minutes")
    with tempfile.TemporaryDirectory() as tmp:
        if args.workdir:
            tmp = args.workdir
            Path(tmp).mkdir(parents=True, exist_ok=True)
        load = Load(args, Path(tmp))
        runner, ports, hook_port = await load.start_peers()
        listen = free_port()
        path = Path(tmp) / "wk.yml"
        path.write_text(json.dumps(load.config(ports, hook_port, listen)))
        log = (Path(tmp) / "serve.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "watchkeeper.cli.main", "serve",
                                 "--config", str(path), "--data", str(Path(tmp) / "data"),
                                 "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT,
                                cwd=tmp, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                    [SRC, os.environ.get("PYTHONPATH", "")])})
        load.base = f"http://127.0.0.1:{listen}"
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=0)
        try:
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                for _ in range(300):
                    try:
                        async with session.get(f"{load.base}/health/live") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
                began = time.time()
                tasks = [asyncio.create_task(load.pusher(session)),
                         asyncio.create_task(load.querier(session, args.qps)),
                         asyncio.create_task(load.prober(session)),
                         asyncio.create_task(load.sampler(proc.pid)),
                         *[asyncio.create_task(load.streamer(session))
                           for _ in range(args.streams)]]
                print(f"soak: {args.minutes:g} min, {args.targets} targets x ~{args.series} "
                      f"series every 5 s, {args.qps:g} queries/s, {args.streams} stream "
                      f"clients, pushes of 100 samples/s, a receiver failing 10 %", flush=True)
                await asyncio.sleep(warmup)
                start = await load.figures(session, proc.pid, warmup)
                await asyncio.sleep(max(0.0, duration - warmup))
                end = await load.figures(session, proc.pid, duration - warmup)
                load.stop.set()
                await asyncio.wait([*tasks, *load.inflight], timeout=40)
                pushed_until = time.time()
                await asyncio.sleep(6)  # the last writes committed, the last scrape in
                window = int(pushed_until - began) + 30
                lost = await load.lost(session, window)
                scrapes = await load.instant(
                    session, f'sum(count_over_time(up{{job="soak"}}[{window}s]))') or 0.0
        except BaseException:
            log.flush()
            tail = (Path(tmp) / "serve.log").read_text(errors="replace")[-3000:]
            print(f"server exit status: {proc.poll()}; log tail:\n{tail}", file=sys.stderr)
            raise
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
            await runner.cleanup()
            text = (Path(tmp) / "serve.log").read_text(errors="replace")
            tail = text[-2000:]
            # what the server itself complained of: a listener failing quietly is a leak too
            log_errors = [line for line in text.splitlines()
                          if " ERROR " in line or line.startswith("Traceback")]
    print_figures(start, end)
    for (kind, klass), n in sorted(load.statuses.items()):
        print(f"  {kind:<14}{klass}: {n}")
    pushed = len(load.acked) * 100
    result = {
        "minutes": args.minutes, "5xx": len(load.five_xx), "no_answer": len(load.no_answer),
        "pushed": pushed, "lost": lost, "scrapes_served": load.hits,
        "scrapes_stored": int(scrapes), "queries": sum(
            n for (k, _), n in load.statuses.items() if k == "query"),
        "stream_messages": load.stream_messages, "log_errors": len(log_errors),
        "notifications_ok": load.notifications["ok"],
        "notifications_failed": load.notifications["failed"],
        "start": start, "end": end,
    }
    print(f"5xx: {len(load.five_xx)}  " + "; ".join(load.five_xx[:5]))
    print(f"no answer within 30 s: {len(load.no_answer)}  " + "; ".join(load.no_answer[:3]))
    print(f"samples pushed and acknowledged {pushed}, of them not stored (lost): {lost}")
    print(f"scrapes served {load.hits}, stored {int(scrapes)} (the last in flight may miss)")
    print(f"notifications: {load.notifications['ok']} taken, {load.notifications['failed']} "
          f"failed on purpose; stream snapshots received {load.stream_messages}")
    print(f"server log errors: {len(log_errors)}  " + "; ".join(
        line[:160] for line in log_errors[:3]))
    if load.five_xx or lost:
        print("server log tail:\n" + tail)
    print("RESULT " + json.dumps(result), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--warmup-minutes", type=float, default=None,
                        help="when the first figures are taken (default: 10, or a fifth of "
                             "a run shorter than 50 minutes)")
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--series", type=int, default=200, help="per target")
    parser.add_argument("--qps", type=float, default=20.0)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--max-inflight", type=int, default=20,
                        help="queries in flight at most (further ticks are skipped)")
    parser.add_argument("--workdir", help="keep the data and serve.log there")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    result = asyncio.run(run(args))
    return 1 if result["5xx"] or result["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
