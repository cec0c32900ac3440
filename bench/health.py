"""Health endpoints under load, against a bare Starlette route, in the same run.

1. ``/health/ready`` with 20 registered checks, mounted in Starlette and served by uvicorn,
   against a bare Starlette route returning a constant JSON document, same server settings,
   same load generator (wrk when installed, else a bounded Python generator in another
   process). Rounds alternate; medians; ratio ours/bare (goal >= 0.8).
2. 50 checks of which 5 hang: ``/health?fresh=1`` must answer within the largest check
   timeout + 100 ms.

Run: ``python bench/health.py`` (about a minute). ``--serve KIND --port N`` is used
internally to start one server.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

ROUNDS = 9
SECONDS = 3
CONNECTIONS = 16
HANG_TIMEOUTS = (0.5, 1.0, 1.5, 2.0, 2.0)
FRESH_ROUNDS = 5
CONSTANT = {"status": "pass", "checks": {}}


# -- the servers ------------------------------------------------------------------------------
def bare_app():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ready(request):
        return JSONResponse(CONSTANT)

    return Starlette(routes=[Route("/health/ready", ready)])


def ours_app(total: int = 20, hanging: int = 0):
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from watchkeeper.health import Runner, create_check, function_check

    runner = Runner(fresh_interval=0)
    for kind in ("disk", "memory", "cpu_load")[: max(0, total - hanging)]:
        runner.add(create_check(kind, timeout=2.0))
    quick = total - hanging - len(runner)
    for i in range(quick):
        def fine(i=i):
            return "healthy"
        runner.add(function_check(fine, name=f"service-{i}", timeout=1.0,
                                  critical=i % 2 == 0))
    for i, timeout in enumerate(HANG_TIMEOUTS[:hanging]):
        if i % 2:
            async def hangs_async():
                await asyncio.sleep(3600)
            runner.add(function_check(hangs_async, name=f"hangs-{i}", timeout=timeout))
        else:
            def hangs():
                threading.Event().wait(3600)
            runner.add(function_check(hangs, name=f"hangs-{i}", timeout=timeout))
    from watchkeeper.health import make_asgi_app

    return Starlette(routes=[Mount("/health", make_asgi_app(runner))])


def serve(kind: str, port: int) -> None:
    import uvicorn

    app = {"bare": bare_app, "ours": ours_app,
           "hang": lambda: ours_app(total=50, hanging=5)}[kind]()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                lifespan="auto")


# -- the harness --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


def get(port: int, path: str, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def python_load(port: int, path: str, seconds: float, connections: int) -> float:
    """Requests/s from keep-alive clients in a separate process (bounded in time)."""
    code = f"""
import http.client, threading, time
done = [0]; stop = time.monotonic() + {seconds}
def worker():
    c = http.client.HTTPConnection("127.0.0.1", {port}, timeout=10)
    n = 0
    while time.monotonic() < stop:
        c.request("GET", {path!r}); c.getresponse().read(); n += 1
    done[0] += n
ts = [threading.Thread(target=worker) for _ in range({connections})]
t0 = time.monotonic(); [t.start() for t in ts]; [t.join() for t in ts]
print(done[0] / (time.monotonic() - t0))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=seconds + 30, check=True)
    return float(out.stdout.strip())


def load(port: int, path: str) -> float:
    wrk = shutil.which("wrk")
    if wrk is None:
        return python_load(port, path, SECONDS, CONNECTIONS)
    out = subprocess.run([wrk, "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s",
                          f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=SECONDS + 30, check=True)
    match = re.search(r"Requests/sec:\s*([\d.]+)", out.stdout)
    if not match or "Non-2xx" in out.stdout:
        raise RuntimeError(f"wrk output not understood:\n{out.stdout}")
    return float(match.group(1))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to get CPU per request."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput() -> float:
    """Both servers up at once (idle while the other is loaded); rounds alternate and each
    pair's ratio is taken close in time, so load from elsewhere on the machine hits both.
    Server CPU time per request is printed too: it hardly depends on that outside load."""
    generator = "wrk" if shutil.which("wrk") else "python"
    servers = {kind: start(kind) for kind in ("bare", "ours")}
    try:
        for _, port in servers.values():
            status, body = get(port, "/health/ready")  # warm up; ours runs its checks once
            assert status == 200, (status, body)
        ours, bare, ratios = [], [], []
        cpu = {"bare": [0.0, 0.0], "ours": [0.0, 0.0]}  # seconds, requests
        for i in range(ROUNDS):
            order = ("bare", "ours") if i % 2 == 0 else ("ours", "bare")
            figures = {}
            for kind in order:
                proc, port = servers[kind]
                before = cpu_seconds(proc.pid)
                figures[kind] = load(port, "/health/ready")
                cpu[kind][0] += cpu_seconds(proc.pid) - before
                cpu[kind][1] += figures[kind] * SECONDS
            bare.append(figures["bare"])
            ours.append(figures["ours"])
            ratios.append(figures["ours"] / figures["bare"])
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=10)
    o, b, ratio = statistics.median(ours), statistics.median(bare), statistics.median(ratios)
    print(f"/health/ready, 20 checks ({generator} -c{CONNECTIONS} {SECONDS}s x{ROUNDS}): "
          f"ours {o:,.0f} req/s   bare Starlette {b:,.0f} req/s   ratio {ratio:.2f}"
          f"   (median of paired ratios; goal >= 0.80)", flush=True)
    print("  paired ratios: " + " ".join(f"{r:.2f}" for r in ratios), flush=True)
    per_request = {k: 1e6 * secs / max(n, 1) for k, (secs, n) in cpu.items()}
    print(f"  server CPU per request: ours {per_request['ours']:.0f} us   bare "
          f"{per_request['bare']:.0f} us   ratio bare/ours "
          f"{per_request['bare'] / per_request['ours']:.2f}", flush=True)
    return ratio


def fresh_latency() -> None:
    bound = max(HANG_TIMEOUTS) + 0.1
    proc, port = start("hang")
    try:
        get(port, "/health/live")
        times = []
        for _ in range(FRESH_ROUNDS):
            t0 = time.perf_counter()
            status, body = get(port, "/health/?fresh=1")
            times.append(time.perf_counter() - t0)
            assert status == 503 and b"timed out after 2 s" in body, (status, body[:300])
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    worst = max(times)
    print(f"/health?fresh=1, 50 checks of which 5 hang (largest timeout "
          f"{max(HANG_TIMEOUTS):g} s): median {statistics.median(times):.3f} s, "
          f"worst {worst:.3f} s   bound {bound:.3f} s   "
          f"{'within' if worst <= bound else 'OVER'} bound", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", choices=["bare", "ours", "hang"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--only", choices=["fresh", "ready"], help="run one part only")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    os.environ.setdefault("PYTHONPATH", os.path.join(os.path.dirname(__file__), "..", "src"))
    if args.only != "ready":
        fresh_latency()
    if args.only != "fresh":
        ratio = throughput()
        print(f"worst ratio ours/bare: {ratio:.2f}")


if __name__ == "__main__":
    main()
