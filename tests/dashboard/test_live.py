"""Live updates reach the page over the WebSocket, and over Server-Sent Events where a
proxy or network lets no WebSocket through."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

STREAM_WS = re.compile(r"^wss?://[^/]+/api/v1/stream$")


def _count_requests(page: Any, path: str) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if urlsplit(r.url).path == path else None)
    return seen


def _wait_for(condition: Any, page: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def test_the_websocket_carries_the_stream_when_it_can(served, page):
    pg = page.page
    sse = _count_requests(pg, "/api/v1/stream/sse")
    pg.goto(served.url + "/#/alerts")
    pg.wait_for_selector("#status:text('live')")
    assert pg.get_attribute("#status", "title") == "updates pushed over WebSocket"
    assert sse == []
    assert page.errors == []


def test_alerts_arrive_live_over_sse_when_the_websocket_is_cut(served, page):
    pg = page.page
    cut: list[str] = []

    def proxy_drops_it(ws: Any) -> None:  # accepted, then closed before anything arrives
        cut.append(ws.url)
        ws.close()

    pg.route_web_socket(STREAM_WS, proxy_drops_it)
    sse = _count_requests(pg, "/api/v1/stream/sse")
    polls = _count_requests(pg, "/api/v1/alerts")
    pg.goto(served.url + "/#/alerts")
    pg.wait_for_selector("#status:text('live')")
    assert cut, "the page never tried the WebSocket"
    assert sse, "the page never opened the SSE stream"
    assert pg.get_attribute("#status", "title") == "updates pushed over Server-Sent Events"
    assert pg.locator("[data-alert=StreamProbe]").count() == 0
    # the first load and the one timer refresh a live page still makes; after that it
    # refreshes only when the stream says something changed (its timer waits 15 s)
    _wait_for(lambda: len(polls) >= 2, pg)
    pg.wait_for_timeout(200)
    served.fire("wk_stream_probe")
    pg.wait_for_selector("[data-section=alerts] [data-alert=StreamProbe]", timeout=2000)
    assert pg.locator("#status").inner_text() == "live"
    assert page.errors == []


def test_a_websocket_that_never_answers_gives_way_to_sse(served, page):
    pg = page.page
    held: list[str] = []
    # accepted, then silent: a proxy holding the upgrade
    pg.route_web_socket(STREAM_WS, lambda ws: held.append(ws.url))
    pg.goto(served.url + "/#/overview")
    pg.wait_for_selector("#status:text('live')", timeout=15_000)
    assert held
    assert pg.get_attribute("#status", "title") == "updates pushed over Server-Sent Events"
