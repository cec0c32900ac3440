"""The scrape loop: every target on its own interval, as its own task, into the store.

Each target gets a fixed offset inside its interval (hashed from its URL, as Prometheus
spreads scrapes) and its own timeout, so one that hangs or sends garbage only marks itself
down. After every scrape the report series Prometheus writes are stored too: ``up``,
``scrape_duration_seconds``, ``scrape_samples_scraped``,
``scrape_samples_post_metric_relabeling`` and ``scrape_series_added``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from watchkeeper.config import Config

from .cache import CachedSamples, ScrapeCache
from .scraper import Sample, ScrapeResult, make_client, scrape
from .targets import DroppedTarget, FileSD, Target, discover

log = logging.getLogger("watchkeeper.scrape")

# appends and commits (a cached scrape's columns whole if it can); run in a worker thread
Writer = Callable[[list[Sample] | CachedSamples], Any]
# Prometheus's staleness marker: a NaN the query engine treats as "this series ended"
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
REPORT_NAMES = ("up", "scrape_duration_seconds", "scrape_samples_scraped",
                "scrape_samples_post_metric_relabeling", "scrape_series_added")


@dataclass
class TargetState:
    """What /api/v1/targets shows for one target."""

    target: Target
    health: str = "unknown"
    last_error: str = ""
    last_scrape: float = 0.0
    last_duration: float = 0.0
    last_samples: int = 0
    scrapes: int = 0
    seen: set[tuple] = field(default_factory=set)
    seen_whole: bool = False  # no failure since the last scrape written: ``seen`` is its series
    metadata: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # latest good scrape
    cache: ScrapeCache = field(default_factory=ScrapeCache)

    def to_api(self) -> dict[str, Any]:
        t = self.target
        return {
            "discoveredLabels": dict(sorted(t.sd_labels.items())),
            "labels": dict(sorted(t.labels.items())),
            "scrapePool": t.job.job_name,
            "scrapeUrl": t.url,
            "globalUrl": t.url,
            "lastError": self.last_error,
            "lastScrape": _rfc3339(self.last_scrape),
            "lastScrapeDuration": self.last_duration,
            "health": self.health,
            "scrapeInterval": f"{t.interval:g}s",
            "scrapeTimeout": f"{t.timeout:g}s",
        }


def _rfc3339(ts: float) -> str:
    if not ts:
        return "0001-01-01T00:00:00Z"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def report_samples(target: Target, result: ScrapeResult, added: int) -> list[Sample]:
    ts = int(result.started * 1000)
    base = dict(target.labels)
    values = {
        "up": 0.0 if result.error else 1.0,
        "scrape_duration_seconds": result.duration,
        "scrape_samples_scraped": float(result.scraped),
        "scrape_samples_post_metric_relabeling": float(result.post_relabel),
        "scrape_series_added": float(added),
    }
    if target.job.sample_limit:  # Prometheus's extra-scrape-metrics name, for the alert
        values["scrape_sample_limit"] = float(target.job.sample_limit)
    return [({"__name__": name, **base}, ts, value) for name, value in values.items()]


def _with_staleness_and_report(state: TargetState, result: ScrapeResult
                               ) -> list[Sample] | CachedSamples:
    """The scrape's samples, staleness markers for series it no longer has and the report
    series. Runs in the writer thread, in scrape order: ``state.seen`` is the writer's,
    and comparing a thousand series per scrape stays off the event loop.

    A result from the scrape cache has the series of the scrape that filled the cache, and
    that scrape's write (earlier in this thread) made them ``seen``: unless a failure came
    in between (``seen_whole`` is then False), nothing was added and nothing went stale."""
    cached = isinstance(result.samples, CachedSamples)
    if cached and state.seen_whole:  # the columns, then the report samples
        return result.samples.followed_by(report_samples(state.target, result, 0))
    state.seen_whole = not result.error
    labelled = result.samples.labels if cached else [lb for lb, _, _ in result.samples]
    current = {tuple(sorted(labels.items())) for labels in labelled}
    added = sum(1 for k in current if k not in state.seen)
    # series gone since the last scrape (all of them when the scrape failed) end now
    ts = int(result.started * 1000)
    stale = [(dict(k), ts, STALE_NAN) for k in state.seen - current]
    state.seen = current
    if cached:
        return result.samples.followed_by(stale + report_samples(state.target, result, added))
    return result.samples + stale + report_samples(state.target, result, added)


class ScrapeManager:
    """Runs the scrape loops of a config; ``apply(config)`` swaps them on reload."""

    def __init__(self, write: Writer, external_labels: dict[str, str] | None = None) -> None:
        self.write = write
        self.file_sd = FileSD()
        self.states: dict[tuple[str, str], TargetState] = {}
        self.dropped: list[DroppedTarget] = []
        self._tasks: dict[tuple[str, str], asyncio.Task] = {}
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._sd_task: asyncio.Task | None = None
        self.config: Config | None = None
        # parsing and writing get threads of their own: queries on the default pool that
        # take seconds must never make a scrape late
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="scrape")
        # one writer thread, in order: a scrape never waits for the store (a compaction that
        # holds it for seconds delays queryability, not the next scrape)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="scrape-write")
        self._pending_writes = 0
        self.scrapes_total = 0
        self.late_total = 0

    async def apply(self, config: Config) -> None:
        """Start, stop and restart loops so they match ``config``; the series of targets
        that are gone get staleness markers, as Prometheus writes them."""
        old_clients = self._clients
        old_states = dict(self.states)
        self.config = config
        self._clients = {job.job_name: make_client(job) for job in config.scrape_configs}
        for key in list(self._tasks):
            await self._stop_target(key)
        self._sync_targets()
        for client in old_clients.values():
            await client.aclose()
        gone = [st for key, st in old_states.items() if key not in self.states]
        if gone:
            await self._mark_stale(gone)
        if self._sd_task is None and any(j.file_sd_configs for j in config.scrape_configs):
            self._sd_task = asyncio.create_task(self._refresh_file_sd())

    def _sync_targets(self) -> None:
        assert self.config is not None
        discovery = discover(self.config, self.file_sd)
        self.dropped = discovery.dropped
        wanted = {t.key: t for t in discovery.active}
        for key in list(self._tasks):
            if key not in wanted:
                self._tasks.pop(key).cancel()
        for key in list(self.states):
            if key not in wanted:
                self.states.pop(key)
        for key, target in wanted.items():
            if key not in self._tasks:
                state = self.states.get(key)
                if state is None:
                    state = TargetState(target)
                else:  # a reload: keep health and the series seen, take the new settings
                    state.target = target
                self.states[key] = state
                self._tasks[key] = asyncio.create_task(self._loop(state),
                                                       name=f"scrape {target.url}")

    async def _refresh_file_sd(self) -> None:
        while True:
            assert self.config is not None
            every = min((sd.refresh_interval for j in self.config.scrape_configs
                         for sd in j.file_sd_configs), default=30.0)
            await asyncio.sleep(max(1.0, min(every, 5.0)))
            before = dict(self.states)
            with contextlib.suppress(Exception):
                self._sync_targets()
            gone = [st for key, st in before.items() if key not in self.states]
            if gone:
                await self._mark_stale(gone)

    async def _stop_target(self, key: tuple[str, str]) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def stop(self) -> None:
        for key in list(self._tasks):
            await self._stop_target(key)
        if self._sd_task is not None:
            self._sd_task.cancel()
            self._sd_task = None
        for client in self._clients.values():
            await client.aclose()
        self._clients = {}
        self._pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._writer.shutdown, True)  # flush accepted scrapes

    async def _loop(self, state: TargetState) -> None:
        target = state.target
        interval = target.interval
        offset = (zlib.crc32(target.url.encode()) % 1000) / 1000 * interval
        next_at = (time.time() // interval) * interval + offset
        if next_at < time.time():
            next_at += interval
        while True:
            await asyncio.sleep(max(0.0, next_at - time.time()))
            client = self._clients.get(target.job.job_name)
            if client is None:
                return
            result = await scrape(client, target, self._pool, state.cache)
            await self._record(state, result)
            next_at += interval
            if next_at < time.time():  # overran: skip missed slots, never pile up
                self.late_total += 1
                next_at += ((time.time() - next_at) // interval + 1) * interval

    async def _record(self, state: TargetState, result: ScrapeResult) -> None:
        self.scrapes_total += 1
        state.scrapes += 1
        state.last_scrape = result.started
        state.last_duration = result.duration
        state.last_samples = len(result.samples)
        if result.error:
            if state.health != "down" or state.last_error != result.error:
                log.warning("scrape of %s failed: %s", state.target.url, result.error)
            state.health, state.last_error = "down", result.error
        else:
            state.health, state.last_error = "up", ""
            state.metadata = result.metadata
        url = state.target.url
        self._pending_writes += 1

        def write() -> None:
            try:
                self.write(_with_staleness_and_report(state, result))
            except Exception as e:  # a store problem is reported by the store's own health
                log.error("writing scrape of %s failed: %s", url, e)
            finally:
                self._pending_writes -= 1

        future = self._writer.submit(write)
        if self._pending_writes > 4 * max(1, len(self.states)):  # bound memory if stuck
            await asyncio.wrap_future(future)

    async def _mark_stale(self, states: list[TargetState]) -> None:
        ts = int(time.time() * 1000)

        def write() -> None:
            samples = [(dict(k), ts, STALE_NAN) for st in states for k in st.seen]
            for st in states:
                if st.scrapes:
                    limit = ("scrape_sample_limit",) if st.target.job.sample_limit else ()
                    samples += [({"__name__": n, **st.target.labels}, ts, STALE_NAN)
                                for n in (*REPORT_NAMES, *limit)]
            self.write(samples)

        try:  # through the writer, after any scrape of these targets still queued
            await asyncio.wrap_future(self._writer.submit(write))
        except Exception as e:
            log.error("writing staleness markers failed: %s", e)

    def active_targets(self) -> list[dict[str, Any]]:
        return [s.to_api() for _, s in sorted(self.states.items())]

    def dropped_targets(self) -> list[DroppedTarget]:
        return list(self.dropped)

    def dropped_counts(self) -> dict[str, int]:
        """Dropped targets per job, every job listed (Prometheus's droppedTargetCounts)."""
        jobs = self.config.scrape_configs if self.config is not None else []
        counts = {job.job_name: 0 for job in jobs}
        for target in self.dropped:
            counts[target.job_name] = counts.get(target.job_name, 0) + 1
        return counts
