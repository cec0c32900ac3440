"""The hub behind the live streams: every subscription, grouped by interval, and the
ticks that evaluate and fan out their updates.

Why a hub: a thousand dashboards watching the same three expressions must not cost three
thousand evaluations a tick. Subscribers with the same interval share one ticker; each tick
evaluates every distinct expression once (in one worker thread), encodes each result to
JSON once, and hands every subscriber a message joined from those pieces (subscribers with
the same queries share the very same string). A subscriber that cannot keep up keeps only
the newest message: a slow reader never delays the tick or the other subscribers. Where a
subscriber's transport can be written directly, an update is framed once (by the
subscriber's ``framing``) and the same bytes are written to every such transport, which is
what lets one process feed a thousand dashboards ten times a second.
``time`` in an update is when its expressions were evaluated, so a reader can measure lag.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from typing import Any

RAW_BUFFER_LIMIT = 1 << 20  # bytes a transport may hold unsent before its reader skips updates


class Subscriber:
    """One stream's subscription and its mailbox: replies (subscribed, errors) in order,
    then only the newest undelivered update."""

    __slots__ = ("busy", "control", "framing", "health", "interval", "pending", "queries",
                 "raw", "ready")

    def __init__(self, raw: Any = None, framing: Any = None) -> None:
        self.raw = raw  # the connection's transport, for updates framed once for everyone
        self.framing = framing  # text -> the bytes of one update on that transport
        self.busy = False  # the sender is writing a reply or an update
        self.queries: tuple[str, ...] = ()
        self.health = False
        self.interval = 1.0
        self.control: deque[str] = deque(maxlen=16)
        self.pending: str | None = None
        self.ready = asyncio.Event()

    def offer(self, message: str) -> bool:
        """Leave an update for the reader; False when it replaced one never read."""
        replaced = self.pending is not None
        self.pending = message
        self.ready.set()
        return not replaced

    def reply(self, message: str) -> None:
        self.control.append(message)
        self.ready.set()

    async def next(self) -> str:
        while not self.control and self.pending is None:
            self.ready.clear()
            await self.ready.wait()
        if self.control:
            return self.control.popleft()
        message, self.pending = self.pending, None
        return message



class _Ticker:
    """The subscribers of one interval and the thread that evaluates for them.

    The thread sleeps to each tick itself and hands the encoded results to the event loop,
    which writes them out: one thread wake-up a tick rather than two round trips through
    the executor, which a busy machine delays the most."""

    def __init__(self, hub: Hub, interval: float) -> None:
        self.hub = hub
        self.interval = interval
        self.subscribers: set[Subscriber] = set()
        self.last: tuple[float, dict[str, Any]] | None = None  # (loop time, pieces)
        self._counts: dict[str, int] = {}
        self._health = 0
        self.wanted: tuple[list[str], bool] = ([], False)  # replaced whole, read by the thread
        self._stop = threading.Event()
        self._loop = asyncio.get_running_loop()
        self._thread: threading.Thread | None = None

    def add(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)
        for q in set(sub.queries):
            self._counts[q] = self._counts.get(q, 0) + 1
        self._health += sub.health
        self.wanted = (sorted(self._counts), self._health > 0)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"watchkeeper-stream-{self.interval:g}s")
            self._thread.start()

    def discard(self, sub: Subscriber) -> None:
        if sub not in self.subscribers:
            return
        self.subscribers.discard(sub)
        for q in set(sub.queries):
            self._counts[q] -= 1
            if not self._counts[q]:
                del self._counts[q]
        self._health -= sub.health
        self.wanted = (sorted(self._counts), self._health > 0)
        if not self.subscribers:
            self._stop.set()

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            queries, health = self.wanted
            try:
                pieces = self.hub.evaluate(queries, health)
            except Exception:  # never let one bad tick end the stream for everyone
                pieces = None
            if pieces is not None:
                try:
                    self._loop.call_soon_threadsafe(self._deliver, pieces, len(queries))
                except RuntimeError:  # the loop is closed: the server is gone
                    return
            now = time.monotonic()
            next_tick += self.interval
            if now - next_tick > self.interval:  # over a tick behind: skip what is lost
                self.hub.ticks_skipped += int((now - next_tick) // self.interval)
                next_tick = now
            # a tick late by less than an interval runs at once, so a hiccup costs no update
            self._stop.wait(max(0.0, next_tick - now))

    def _deliver(self, pieces: dict[str, Any], evaluated: int) -> None:
        self.hub.ticks += 1
        self.hub.evaluations += evaluated
        self.last = (self._loop.time(), pieces)
        self.hub.fan_out(self.subscribers, pieces)


class Hub:
    """Every live subscription, grouped by interval; the figures of what it did."""

    def __init__(self, service: Any, engine: Any) -> None:
        self.service = service
        self.engine = engine
        self.tickers: dict[float, _Ticker] = {}
        self.evaluations = 0  # by the tickers: once per distinct expression a tick
        self.ticks = 0
        self.first_evaluations = 0  # for a new subscription the last tick did not cover
        self.ticks_skipped = 0
        self.messages = 0
        self.messages_dropped = 0  # replaced before a slow reader took them
        self.raw_writes = 0  # updates written as a frame built once for every WebSocket

    @property
    def subscribers(self) -> int:
        return sum(len(t.subscribers) for t in self.tickers.values())

    def subscribe(self, sub: Subscriber, queries: list[str], health: bool,
                  interval: float) -> None:
        self.unsubscribe(sub)
        sub.queries, sub.health, sub.interval = tuple(queries), health, interval
        if not (queries or health):
            return
        ticker = self.tickers.get(interval)
        if ticker is None:
            ticker = self.tickers[interval] = _Ticker(self, interval)
        ticker.add(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        ticker = self.tickers.get(sub.interval)
        if ticker is None:
            return
        ticker.discard(sub)
        if not ticker.subscribers:
            del self.tickers[sub.interval]  # its thread ends at its next tick

    def evaluate(self, queries: list[str], health: bool) -> dict[str, Any]:
        """Each expression once, each result encoded once (a ticker's or a worker thread)."""
        from watchkeeper.promql.errors import PromQLError
        from watchkeeper.promql.formatting import result_to_api

        now = time.time()
        at_ms = int(now * 1000)
        encoded: dict[str, str] = {}
        for q in queries:
            try:
                part: dict[str, Any] = {"query": q,
                                        "result": result_to_api(self.engine.instant(q, at_ms))}
            except PromQLError as e:
                part = {"query": q, "error": str(e)}
            encoded[q] = json.dumps(part, separators=(",", ":"))
        out: dict[str, Any] = {"time": json.dumps(now), "queries": encoded}
        if health:
            out["health"] = json.dumps(
                {name: {"status": str(r.status), "details": r.details}
                 for name, r in self.service.runner.latest().items()}, separators=(",", ":"))
        return out

    @staticmethod
    def message(pieces: dict[str, Any], queries: tuple[str, ...], health: bool) -> str:
        body = ",".join(pieces["queries"][q] for q in queries)
        tail = f',"health":{pieces["health"]}' if health and "health" in pieces else ""
        return f'{{"type":"update","time":{pieces["time"]},"queries":[{body}]{tail}}}'

    def fan_out(self, subscribers: set[Subscriber], pieces: dict[str, Any]) -> None:
        built: dict[tuple[tuple[str, ...], bool], str] = {}
        framed: dict[tuple[tuple[str, ...], bool, Any], bytes] = {}
        for sub in list(subscribers):
            key = (sub.queries, sub.health)
            text = built.get(key)
            if text is None:
                text = built[key] = self.message(pieces, *key)
            self.messages += 1
            raw = sub.raw
            if raw is not None and not sub.busy and not sub.control and sub.pending is None:
                if raw.is_closing():
                    continue
                if raw.get_write_buffer_size() > RAW_BUFFER_LIMIT:
                    self.messages_dropped += 1  # a reader this far behind skips an update
                    continue
                fkey = (*key, sub.framing)
                frame = framed.get(fkey)
                if frame is None:
                    frame = framed[fkey] = sub.framing(text)
                raw.write(frame)
                self.raw_writes += 1
            elif not sub.offer(text):
                self.messages_dropped += 1

    async def first(self, sub: Subscriber) -> None:
        """An update soon after (re)subscribing: the last tick's when it covers this
        subscription; else, for an interval over a second, one evaluated for it alone
        (shorter intervals wait for their next tick rather than add work to it)."""
        ticker = self.tickers.get(sub.interval)
        last = ticker.last if ticker is not None else None
        if (last is not None and all(q in last[1]["queries"] for q in sub.queries)
                and (not sub.health or "health" in last[1])):
            sub.offer(self.message(last[1], sub.queries, sub.health))
        elif sub.interval > 1.0:
            wanted = list(dict.fromkeys(sub.queries))
            pieces = await asyncio.to_thread(self.evaluate, wanted, sub.health)
            self.first_evaluations += len(wanted)
            sub.offer(self.message(pieces, sub.queries, sub.health))
