"""Live streams share their work: each distinct expression is evaluated once a tick however
many WebSocket and SSE subscribers watch it, and each subscriber still gets its own update."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from types import SimpleNamespace

import httpx
import pytest
from websockets.sync.client import connect

from peers import free_port
from watchkeeper.server.stream import Streamer
from watchkeeper.server.stream_hub import Subscriber

EXPRS = ["up", "sum(up)", "count(up)", "up * 2", "-up"]


@pytest.fixture
def served(tmp_path):
    from starlette.applications import Starlette
    from starlette.routing import Route, WebSocketRoute

    from watchkeeper.dashboard.preview import run_in_thread
    from watchkeeper.health.runner import Runner
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb import Store

    store = Store.open(tmp_path / "tsdb", background=False)
    now = int(time.time() * 1000)
    for i in range(3):
        store.append({"__name__": "up", "job": f"j{i}"}, now - 1000, 1.0)
    store.commit()
    streamer = Streamer(SimpleNamespace(runner=Runner()), Engine(store))
    app = Starlette(routes=[WebSocketRoute("/api/v1/stream", streamer.websocket),
                            Route("/api/v1/stream/sse", streamer.sse)])
    server, url = run_in_thread(app, free_port())
    yield streamer, url
    server.should_exit = True
    time.sleep(0.3)
    store.close()


def test_each_distinct_expression_is_evaluated_once_a_tick(served):
    streamer, url = served
    got: dict[int, list[dict]] = {}
    stop = threading.Event()

    def client(i: int) -> None:
        mine = [EXPRS[(i + k) % len(EXPRS)] for k in range(3)]
        with connect(url.replace("http", "ws") + "/api/v1/stream") as ws:
            ws.send(json.dumps({"queries": mine, "interval": 100}))
            assert json.loads(ws.recv(10))["type"] == "subscribed"
            while not stop.is_set():
                got.setdefault(i, []).append(json.loads(ws.recv(10)))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(30)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while (len(got) < 30 or min(len(v) for v in got.values()) < 5) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    hub = streamer.hub
    ticks, evaluations = hub.ticks, hub.evaluations
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert ticks >= 5
    assert evaluations <= ticks * len(EXPRS)  # not 30 clients x 3 expressions a tick
    assert hub.messages >= 30 * 5
    assert hub.raw_writes > 0  # framed once, written to each (the client negotiated deflate)
    for i, updates in got.items():
        assert updates[-1]["type"] == "update"
        assert [q["query"] for q in updates[-1]["queries"]] == \
            [EXPRS[(i + k) % len(EXPRS)] for k in range(3)]
        assert updates[-1]["queries"][0]["result"]["resultType"] in ("vector", "scalar")
    negated = next(u for u in got[4][-1]["queries"] if u["query"] == "-up")
    assert sorted(float(s["value"][1]) for s in negated["result"]["result"]) == [-1.0] * 3


def test_sse_subscribers_share_the_websocket_ticks(served):
    streamer, url = served

    def read_two() -> list[dict]:
        with httpx.stream("GET", url + "/api/v1/stream/sse",
                          params={"query": ["sum(up)"], "interval": "100"}, timeout=10) as r:
            events = []
            for line in r.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                if len(events) == 3:
                    return events
        return events

    results: list[list[dict]] = []
    threads = [threading.Thread(target=lambda: results.append(read_two())) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(results) == 5
    for events in results:
        assert [e["queries"][0]["result"]["result"][0]["value"][1] for e in events] == ["3"] * 3
    assert streamer.hub.raw_writes > 0  # events written as chunks built once for everyone
    deadline = time.monotonic() + 5  # a closed stream leaves its ticker
    while streamer.hub.subscribers and time.monotonic() < deadline:
        time.sleep(0.05)
    assert streamer.hub.subscribers == 0
    bad = httpx.get(url + "/api/v1/stream/sse", params={"interval": "nan"})
    assert bad.status_code == 400


def test_a_slow_reader_keeps_only_the_newest_update_and_every_reply():
    async def scenario() -> list[str]:
        sub = Subscriber()
        assert sub.offer("u1") is True
        sub.reply("subscribed")
        assert sub.offer("u2") is False  # u1 was never read: replaced
        return [await sub.next(), await sub.next()]

    assert asyncio.run(scenario()) == ["subscribed", "u2"]
