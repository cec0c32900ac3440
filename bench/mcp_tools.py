"""MCP tools against a store of many series, and the SDK's own overhead, in the same run.

Builds a store (``--series`` series of ``--hours`` at ``--interval`` seconds through the
store's batch append), then times through the in-process backend: ``status``, ``health``,
``alerts`` (p95 of ``--rounds``), ``query`` summarising ``--query-series`` series over 1 h,
``what_changed``, ``anomalies`` and ``capacity`` over everything; the stdio server's time
to answer ``initialize`` after start (the minimum of ``--starts``, against a bare SDK
server started alternately); and the per-call overhead of our tool over a bare SDK tool that
returns the same dict (both through the real client over stdio). The issue's size is
10,000 series x 7 days at 1 s (``--full``, 6 G samples, a 12 GiB store and about 25
minutes to build on 2 cores); the defaults are smaller so the run takes minutes here.
``--store DIR`` keeps the store between runs (rebuilt only when its size differs). After
the build the store's maintenance runs once (on a kept store too), as a server's does
every minute: finished hours get their rollups.
``what_changed`` is timed at a moment in the still-open day and, when the store spans one,
in a closed day.

Run: ``python bench/mcp_tools.py [--series 10000 --hours 24 --interval 15]``,
``python bench/mcp_tools.py --full --store /var/tmp/wk-mcp-bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BARE = '''
from mcp.server.mcpserver import MCPServer
s = MCPServer("bare", log_level="WARNING")
@s.tool()
def status() -> dict:
    return {"health": {"checks": 4, "failing": 0}, "alerts": {"firing": 0}}
s.run("stdio")
'''


def build_store(path: Path, series: int, hours: float, interval: float,
                closed: bool = False) -> float:
    """The store at ``path`` (kept if a run before built it at this size); returns the
    time of its last sample in seconds. Values have two decimals, as most gauges do.
    ``closed``: the data ends at the last UTC midnight and one later sample closes its
    day, so maintenance rolls all of it up (a closed day's read, without building days)."""
    from watchkeeper.tsdb.store import Store

    size = {"series": series, "hours": hours, "interval": interval, "closed": closed}
    marker = path / "bench-size.json"
    if marker.exists():
        kept = json.loads(marker.read_text())
        if {k: kept.get(k) for k in size} == size:
            print(f"store: kept from an earlier run at {path}")
            with Store.open(path, background=False) as store:
                t0 = time.perf_counter()
                done = store.maintain()  # as a server's maintenance since: nothing, or
                # what a newer store rolls up that the one that built it did not
                print(f"maintenance of the kept store: {time.perf_counter() - t0:.1f} s {done}")
            return float(kept["end"])
        import shutil

        shutil.rmtree(path)
    now = int(time.time() * 1000)
    if closed:
        now -= now % 86_400_000
    ts = np.arange(now - int(hours * 3600_000), now, int(interval * 1000), dtype=np.int64)
    rng = np.random.default_rng(0)
    with Store.open(path, background=False) as store:
        for i in range(series):
            v = np.round(100 + rng.normal(0, 5, len(ts)), 2)
            if i == 7:  # a level step at the middle: what what_changed must find
                v[len(ts) // 2:] += 50
            store.append_array({"__name__": f"bench_metric_{i % 50}", "shard": str(i)}, ts, v)
        store.append_array({"__name__": "watchkeeper_health_status", "check": "db"}, ts,
                           np.ones(len(ts)))
        if closed:  # newer data: the day before it is closed
            store.append({"__name__": "watchkeeper_health_status", "check": "db"}, now + 1000,
                         1.0)
        t0 = time.perf_counter()
        done = store.maintain()  # what a server does every minute: rollups of closed days
        print(f"maintenance after the import: {time.perf_counter() - t0:.1f} s {done}")
    marker.write_text(json.dumps({**size, "end": ts[-1] / 1000}))
    return ts[-1] / 1000


CPU: dict[int, list[float]] = {}  # per timed list: the process's CPU seconds per round


def timed(fn, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Wall seconds per round; the CPU seconds of the whole process (the routes run on
    other threads of it) go to CPU, the figure a busy machine blurs least."""
    out, cpu = [], []
    for _ in range(rounds):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[id(out)] = cpu
    return out


def alternated(ours, anchor, rounds: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """timed() of each, one round of ours then one of the anchor, so both see one load."""
    a: list[float] = []
    b: list[float] = []
    cpu_a: list[float] = []
    cpu_b: list[float] = []
    for _ in range(rounds):
        for fn, out, cpu in ((ours, a, cpu_a), (anchor, b, cpu_b)):
            got = timed(fn, 1)
            out += got
            cpu += CPU.pop(id(got))
    CPU[id(a)], CPU[id(b)] = cpu_a, cpu_b
    return a, b


def promql_what_changed(engine, at: float, window: float) -> object:  # type: ignore[no-untyped-def]
    """what_changed as it read before: PromQL's selector on a grid of window/120 steps."""
    from watchkeeper.analysis.changes import rank_changes
    from watchkeeper.analysis.views import ALL_SERIES, grid

    at_ms, w_ms = int(at * 1000), int(window * 1000)
    _, times, values = grid(engine, ALL_SERIES, at_ms - 4 * w_ms, at_ms + w_ms,
                            max(1000, w_ms // 120))
    return rank_changes(times, values, at, window, top=10)


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


LISTED_NOW: list[float] = []  # per start: seconds to the tools/list answer


async def stdio_calls(args: list[str], env: dict[str, str], rounds: int,
                      ) -> tuple[float, list[float]]:
    """Seconds from the server's start to its initialize answer, then the status calls;
    the start to the tools/list answer (the first the SDK itself must give) goes to
    LISTED_NOW."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    t0 = time.perf_counter()
    async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
        await s.initialize()
        init = time.perf_counter() - t0
        await s.list_tools()
        LISTED_NOW.append(time.perf_counter() - t0)
        calls = []
        for _ in range(rounds):
            t = time.perf_counter()
            await s.call_tool("status", {})
            calls.append(time.perf_counter() - t)
    return init, calls


INITIALIZE = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":'
              b'"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n')


def start_cpu(args: list[str], env: dict[str, str]) -> float:
    """CPU seconds a server spends from its start to answering initialize (then stdin
    ends and it exits): the start's cost, which a busy machine does not inflate."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, *args], input=INITIALIZE, capture_output=True,
                         env=env, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert b'"result"' in out.stdout, out.stderr[-500:]
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


async def wrapper_cost(b, rounds: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Per call, in process: (our server's call_tool minus the tool itself) and (a bare SDK
    server's call_tool minus the same function), both on the health answer."""
    from mcp.server.mcpserver import MCPServer

    from watchkeeper.mcp import tools
    from watchkeeper.mcp.server import build

    ours = build(b)
    answer = tools.health(b)
    bare = MCPServer("bare", log_level="WARNING")

    @bare.tool()
    def health() -> dict:
        return answer

    async def per_call(fn, call) -> float:  # type: ignore[no-untyped-def]
        best = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            await call()
            t1 = time.perf_counter()
            fn()
            best.append((t1 - t0) - (time.perf_counter() - t1))
        return statistics.median(best)

    mine = await per_call(lambda: tools.health(b), lambda: ours.call_tool("health", {}))
    theirs = await per_call(lambda: answer, lambda: bare.call_tool("health", {}))
    return mine, theirs


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--hours", type=float, default=6)
    ap.add_argument("--interval", type=float, default=15)
    ap.add_argument("--query-series", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--starts", type=int, default=5, help="server starts timed, each kind")
    ap.add_argument("--full", action="store_true",
                    help="the issue's size: 10,000 series x 7 days at 1 s")
    ap.add_argument("--store", type=Path, help="keep the store here between runs")
    ap.add_argument("--build-only", action="store_true", help="build the store and stop")
    ap.add_argument("--closed", action="store_true",
                    help="the data ends at the last UTC midnight: all of it rolled up")
    a = ap.parse_args()
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if a.full:
        a.series, a.hours, a.interval = 10_000, 7 * 24.0, 1.0
    from watchkeeper.mcp import tools
    from watchkeeper.mcp.backend import Backend
    from watchkeeper.mcp.shapes import default_grid
    from watchkeeper.mcp.status import status

    with tempfile.TemporaryDirectory() as tmp:
        path = a.store or Path(tmp) / "data"
        t0 = time.perf_counter()
        end = build_store(path, a.series, a.hours, a.interval, a.closed)
        print(f"store: {a.series} series x {a.hours} h at {a.interval} s "
              f"({a.series * a.hours * 3600 / a.interval / 1e6:,.1f} M samples) ready in "
              f"{time.perf_counter() - t0:.1f} s, {_size(path) / 2**30:.2f} GiB")
        if a.build_only:
            return
        # moments relative to the store's last sample: a kept store was built earlier
        open_at = end - min(a.hours / 2, 1.0) * 3600  # the tool's default, now-1h
        day = 86400.0
        # in the day before the open one: its middle, or with --closed the last hour of data
        closed_at = end - 3600 if a.closed else (end // day) * day - day / 2
        b = Backend.local(path)
        try:
            rows = {
                "status": timed(lambda: status(b), a.rounds),
                "health": timed(lambda: tools.health(b), a.rounds),
                "alerts": timed(lambda: tools.alerts(b), a.rounds),
            }
            # the anchor: the PromQL range query the tool's summary is made from (its
            # default grid), alternated with ours: the difference is the tool's own cost
            selector = '{__name__=~"bench_metric_.*",shard=~"[0-9]{1,3}"}'
            g_start, g_end, g_step = default_grid(end - 3600, end)
            ours_q, read_q = alternated(
                lambda: tools.query(b, selector, start=str(end - 3600), end=str(end)),
                lambda: b.engine.range(selector, round(g_start * 1000), round(g_end * 1000),
                                       round(g_step * 1000)), max(3, a.rounds // 2))
            rows[f"query {a.query_series} series x 1h"] = ours_q
            rows["  anchor: PromQL range read, same"] = read_q
            # the anchor: the same ranking over PromQL's grid of the selector (the read
            # what_changed had before), alternated with ours
            moments = [] if a.closed else [("open", open_at)]
            if closed_at - 2 * 3600 >= end - a.hours * 3600:
                moments.append(("closed", closed_at))
            for kind, at in moments:
                ours_wc, grid_wc = alternated(
                    lambda at=at: tools.what_changed(b, at=str(at), window="30m"),
                    lambda at=at: promql_what_changed(b.engine, at, 1800), 3)
                rows[f"what_changed (all, {kind} day)"] = ours_wc
                rows["  anchor: PromQL grid read, same" + " " * (1 + (kind == "closed"))
                     ] = grid_wc
            rows.update({
                # the analysis route scores at most 200 series a call
                "anomalies (200 series, 1 h)": timed(lambda: tools.anomalies(
                    b, '{__name__=~"bench_metric_.*",shard=~"[0-9]{1,2}|1[0-9]{2}"}',
                    window="1h", step="1m"), 3),
                "capacity": timed(lambda: tools.capacity(b), 3),
            })
            wrapper = asyncio.run(wrapper_cost(b, a.rounds * 5))
        finally:
            b.close()
        for name, xs in rows.items():
            print(f"{name:34s} median {statistics.median(xs) * 1000:8.1f} ms   "
                  f"p95 {p95(xs) * 1000:8.1f} ms   CPU median "
                  f"{statistics.median(CPU[id(xs)]) * 1000:8.1f} ms")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        ours_cpu = [start_cpu(["-m", "watchkeeper", "mcp", "--data", str(path)], env)
                    for _ in range(a.starts)]
        bare_cpu = [start_cpu(["-c", BARE], env) for _ in range(a.starts)]
        ours_inits: list[float] = []
        bare_inits: list[float] = []
        ours: list[float] = []
        bare: list[float] = []
        for i in range(a.starts):  # alternated, so both see the same load
            ours_init, calls = asyncio.run(stdio_calls(
                ["-m", "watchkeeper", "mcp", "--data", str(path)], env,
                a.rounds if i == 0 else 0))
            ours_inits.append(ours_init)
            ours += calls
            bare_init, calls = asyncio.run(stdio_calls(["-c", BARE], env,
                                                       a.rounds if i == 0 else 0))
            bare_inits.append(bare_init)
            bare += calls
    print(f"call_tool overhead in process (health): ours {wrapper[0] * 1000:.2f} ms, bare SDK "
          f"{wrapper[1] * 1000:.2f} ms: ours adds {(wrapper[0] - wrapper[1]) * 1000:.2f} ms "
          "(goal 1 ms)")
    overhead = statistics.median(ours) - statistics.median(bare)
    print(f"status call through stdio: ours median {statistics.median(ours) * 1000:.1f} ms, "
          f"bare SDK tool {statistics.median(bare) * 1000:.1f} ms (ours includes the work; "
          f"difference {overhead * 1000:.1f} ms); ratio ours/bare "
          f"{statistics.median(ours) / statistics.median(bare):.2f}")
    print(f"initialize after start (minimum of {a.starts}): ours {min(ours_inits) * 1000:.0f} "
          f"ms, bare SDK server {min(bare_inits) * 1000:.0f} ms (goal 600 ms)")
    print(f"CPU from start to exit after initialize, the SDK import included (minimum of "
          f"{a.starts}): ours "
          f"{min(ours_cpu) * 1000:.0f} ms, bare SDK server {min(bare_cpu) * 1000:.0f} ms; "
          f"ratio ours/bare {min(ours_cpu) / min(bare_cpu):.2f}")
    ours_listed, bare_listed = LISTED_NOW[0::2], LISTED_NOW[1::2]
    print(f"tools/list answered after start (minimum of {a.starts}): ours "
          f"{min(ours_listed) * 1000:.0f} ms, bare SDK server {min(bare_listed) * 1000:.0f} ms; "
          f"ratio ours/bare {min(ours_listed) / min(bare_listed):.2f}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"ratio ours/bare (initialize): {min(ours_inits) / min(bare_inits):.2f}")


if __name__ == "__main__":
    main()
