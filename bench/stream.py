"""Live streams of ``watchkeeper serve`` under 1,000 subscribers, over WebSocket then SSE.

Each client subscribes to 3 PromQL expressions (out of a pool of 6, so clients share them)
at 100 ms and counts the updates it receives during the window, and the lag from the
update's evaluation time (``time`` in the message) to its receipt. Clients run in
``--procs`` worker processes on this machine, started before the window opens.

Printed per transport: delivered updates (median and worst client, share of clients at
>= 95 % of the expected ``seconds / 0.1``), lag p50/p99/max, the server's evaluations per
tick against the distinct expressions (from its own ``watchkeeper_stream_*`` counters; a
server evaluating per subscriber would do clients x 3), and the server's CPU and RSS. The
goals: >= 95 % delivered to every client, p99 lag <= 250 ms, evaluations per tick equal to
the distinct expressions. The last line is the worst ratio to a goal (<= 1 meets them all).

    .venv/bin/python bench/stream.py                       # 1,000 clients, 60 s each way
    .venv/bin/python bench/stream.py --clients 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from serve import ROOT, cpu_rss, get, start_serve, stop  # noqa: E402

EXPRS = [
    'sum(rate(node_cpu_seconds_total{mode!="idle"}[1m]))',
    "node_load1",
    "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
    "sum by (device) (rate(node_network_receive_bytes_total[1m]))",
    "process_resident_memory_bytes",
    "watchkeeper_stream_subscribers",
]
INTERVAL_MS = 100
PREFIX = '{"type":"update","time":'


def queries_of(i: int) -> list[str]:
    return [EXPRS[(i + k) % len(EXPRS)] for k in range(3)]


def update_time(text: str) -> float | None:
    """The evaluation time of an update, without parsing the whole message."""
    if not text.startswith(PREFIX):
        return None
    end = text.index(",", len(PREFIX))
    return float(text[len(PREFIX):end])


class Tally:
    def __init__(self) -> None:
        self.count = 0
        self.lags: list[float] = []

    def seen(self, text: str, window: tuple[float, float]) -> None:
        now = time.time()
        at = update_time(text)
        if at is None or not window[0] <= now < window[1]:
            return
        self.count += 1
        self.lags.append(now - at)


class _WsReader(asyncio.Protocol):
    """A lean WebSocket client for many connections in one process: the server's frames
    are unmasked and unfragmented, so a frame is a header and a payload; only the
    update's time is read out of it. (A general client costs more per message than the
    server does, and would measure itself.)"""

    def __init__(self, window: tuple[float, float], tally: Tally, hello: bytes) -> None:
        self.window, self.tally, self.hello = window, tally, hello
        self.buffer = b""
        self.upgraded = False
        self.done = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.done.set_exception(RuntimeError(buf[:80].decode(errors="replace")))
                return
            self.upgraded = True
            self.transport.write(self.hello)  # type: ignore[union-attr]
            buf = buf[end + 4:]
        pos, n = 0, len(buf)
        while n - pos >= 2:
            size = buf[pos + 1] & 0x7F
            head = 2
            if size == 126:
                if n - pos < 4:
                    break
                size, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif size == 127:
                if n - pos < 10:
                    break
                size, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            if n - pos < head + size:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 1:  # text
                self.tally.seen(buf[pos + head:pos + head + 64].decode(errors="ignore"),
                                self.window)
            elif opcode == 9:  # ping: answer as a browser does, or the server's keepalive
                # closes the connection (uvicorn's websockets: 20 s interval, 20 s timeout)
                self.transport.write(  # type: ignore[union-attr]
                    _masked(0xA, buf[pos + head:pos + head + size]))
            pos += head + size
        self.buffer = buf[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def _masked(opcode: int, data: bytes) -> bytes:
    """A client frame (clients must mask theirs)."""
    mask = os.urandom(4)
    n = len(data)
    head = (bytes((0x80 | opcode, 0x80 | n)) if n < 126
            else bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def _masked_text(text: str) -> bytes:
    return _masked(0x1, text.encode())


async def ws_client(host: str, port: int, i: int, window: tuple[float, float],
                    ready: asyncio.Event, tally: Tally) -> None:
    import base64

    loop = asyncio.get_running_loop()
    hello = _masked_text(json.dumps({"queries": queries_of(i), "interval": INTERVAL_MS}))
    transport, proto = await loop.create_connection(lambda: _WsReader(window, tally, hello),
                                                    host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    transport.write(f"GET /api/v1/stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    ready.set()
    try:
        await asyncio.wait_for(asyncio.shield(proto.done),
                               max(0.1, window[1] - time.time()))
    except TimeoutError:
        pass
    finally:
        transport.close()


class _SseReader(asyncio.Protocol):
    """A lean event-stream reader: counts each ``data:`` event and reads its time."""

    def __init__(self, window: tuple[float, float], tally: Tally) -> None:
        self.window, self.tally = window, tally
        self.buffer = b""
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data
        pos = 0
        while True:
            start = buf.find(b"data: ", pos)
            if start < 0:
                break
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            self.tally.seen(buf[start + 6:start + 70].decode(errors="ignore"), self.window)
            pos = end + 2
        self.buffer = buf[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def sse_client(host: str, port: int, i: int, window: tuple[float, float],
                     ready: asyncio.Event, tally: Tally) -> None:
    from urllib.parse import urlencode

    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_connection(lambda: _SseReader(window, tally),
                                                    host, port)
    query = urlencode([("query", q) for q in queries_of(i)] + [("interval", INTERVAL_MS)])
    transport.write(f"GET /api/v1/stream/sse?{query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    "Accept: text/event-stream\r\n\r\n".encode())
    ready.set()
    try:
        await asyncio.wait_for(asyncio.shield(proto.done),
                               max(0.1, window[1] - time.time()))
    except TimeoutError:
        pass
    finally:
        transport.close()


def worker(kind: str, base: str, ids: list[int], start_at: float, seconds: float,
           out: multiprocessing.Queue) -> None:
    async def main() -> None:
        window = (start_at, start_at + seconds)
        tallies = {i: Tally() for i in ids}
        readies = {i: asyncio.Event() for i in ids}
        host, port = base.removeprefix("http://").split(":")
        tasks = []
        for i in ids:
            if kind == "websocket":
                coro = ws_client(host, int(port), i, window, readies[i], tallies[i])
            else:
                coro = sse_client(host, int(port), i, window, readies[i], tallies[i])
            tasks.append(asyncio.ensure_future(coro))
            await asyncio.sleep(0.002)  # connect at a steady pace, not all at once
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [repr(r) for r in results if isinstance(r, BaseException)]
        out.put({"counts": [tallies[i].count for i in ids],
                 "lags": [lag for t in tallies.values() for lag in t.lags],
                 "errors": errors[:3], "failed": len(errors)})

    asyncio.run(main())


def counters(base: str) -> dict[str, float]:
    text = get(f"{base}/metrics").decode()
    out = {}
    for name in ("ticks", "evaluations", "messages", "messages_dropped", "ticks_skipped"):
        m = re.search(rf"^watchkeeper_stream_{name}_total (\S+)$", text, re.M)
        out[name] = float(m.group(1)) if m else 0.0
    return out


def run(kind: str, clients: int, seconds: float, procs: int) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_serve(Path(tmp), {}, collect=1.0)
        try:
            time.sleep(2.5)  # a few host collections for rates
            connect_time = max(5.0, clients * 0.002 / procs * 2 + 3)
            start_at = time.time() + connect_time
            out: multiprocessing.Queue = multiprocessing.Queue()
            ids = list(range(clients))
            workers = [multiprocessing.Process(target=worker, args=(
                kind, base, ids[p::procs], start_at, seconds, out)) for p in range(procs)]
            for w in workers:
                w.start()
            time.sleep(max(0.0, start_at - time.time()))
            before, (cpu0, _) = counters(base), cpu_rss(proc.pid)
            wall0 = time.monotonic()
            time.sleep(seconds)
            cpu1, rss = cpu_rss(proc.pid)
            wall = time.monotonic() - wall0
            time.sleep(1.2)  # the next collection, for the counters
            after = counters(base)
            results = [out.get(timeout=seconds + 120) for _ in workers]
            for w in workers:
                w.join(timeout=30)
        finally:
            stop(proc)
    counts = [c for r in results for c in r["counts"]]
    lags = sorted(lag for r in results for lag in r["lags"])
    failed = sum(r["failed"] for r in results)
    expected = seconds * 1000 / INTERVAL_MS
    share = [c / expected for c in counts] + [0.0] * failed
    ticks = after["ticks"] - before["ticks"]
    evals = after["evaluations"] - before["evaluations"]
    p50 = lags[len(lags) // 2] if lags else float("nan")
    p99 = lags[int(len(lags) * 0.99)] if lags else float("nan")
    at_goal = sum(1 for s in share if s >= 0.95) / max(1, len(share))
    print(f"\n{kind}: {clients} clients x 3 expressions at {INTERVAL_MS} ms for {seconds:g} s "
          f"({procs} client processes)")
    if failed:
        print(f"  clients that failed: {failed} ({[e for r in results for e in r['errors']][:3]})")
    print(f"  delivered: median {statistics.median(share):.1%}, worst client {min(share):.1%}, "
          f"clients at >= 95 %: {at_goal:.1%} (expected {expected:g} updates each)")
    print(f"  lag evaluation -> receipt: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {(lags[-1] if lags else float('nan')) * 1000:.0f} ms")
    print(f"  server: {ticks:g} ticks, {evals / max(1, ticks):.2f} evaluations per tick for "
          f"{len(EXPRS)} distinct expressions (per subscriber would be {clients * 3}), "
          f"{after['ticks_skipped'] - before['ticks_skipped']:g} ticks skipped, "
          f"{after['messages_dropped'] - before['messages_dropped']:g} updates replaced "
          f"unread")
    print(f"  server CPU {(cpu1 - cpu0) / wall:.0%} of one core "
          f"({(cpu1 - cpu0) / max(1, ticks) * 1000:.1f} ms CPU a tick, all included), "
          f"RSS {rss / 2**20:.0f} MiB; machine load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    return [(f"{kind} worst client delivered (goal >= 95 %)", 0.95 / max(min(share), 1e-9)),
            (f"{kind} p99 lag (goal <= 250 ms)", p99 / 0.25),
            (f"{kind} evaluations per tick (goal = distinct)",
             evals / max(1, ticks) / len(EXPRS))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--procs", type=int, default=2, help="Client worker processes.")
    parser.add_argument("--only", choices=("websocket", "sse"))
    parser.add_argument("--expr", action="append", default=[],
                        help="An expression of the pool instead of the host ones (repeat).")
    args = parser.parse_args()
    if args.expr:
        EXPRS[:] = args.expr
    os.environ["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    ratios: list[tuple[str, float]] = []
    for kind in ("websocket", "sse"):
        if args.only in (None, kind):
            ratios += run(kind, args.clients, args.seconds, args.procs)
    print()
    for name, ratio in ratios:
        print(f"{name}: ratio to goal {ratio:.2f}")
    worst = max(ratios, key=lambda r: r[1])
    print(f"worst ratio to goal (<= 1 meets it): {worst[0]}: {worst[1]:.2f}")


if __name__ == "__main__":
    main()
