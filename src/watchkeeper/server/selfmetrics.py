"""The server's own figures as metrics, and its own parts as health checks.

``watchkeeper_storage`` reports the store's health (degraded with its reasons) and
``watchkeeper_scrape`` reports the scrape loop (degraded while targets are down), so an
operator sees both in ``/health`` next to the configured checks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from watchkeeper.health.model import Outcome, degraded, healthy, unhealthy
from watchkeeper.metrics.family import CounterMetricFamily, GaugeMetricFamily, Metric
from watchkeeper.tsdb.head import NO_TIME


class ServerCollector:
    """Store size, ingestion, scrape and reload figures, read at collection time."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        s = self.service
        ing = s.ingester
        if ing is not None:
            yield CounterMetricFamily("watchkeeper_samples_appended",
                                      "Samples the store accepted.", value=ing.appended)
            yield CounterMetricFamily("watchkeeper_samples_rejected",
                                      "Samples the store refused (out of order, duplicate).",
                                      value=ing.rejected)
        if s.store is not None:
            head = s.store.head
            yield GaugeMetricFamily("watchkeeper_tsdb_head_series",
                                    "Series known to the store.", value=len(head.by_id))
            yield GaugeMetricFamily("watchkeeper_tsdb_head_samples",
                                    "Samples in the in-memory head.", value=head.samples)
            yield from retention_families(s.store)
        if s.scraper is not None:
            yield CounterMetricFamily("watchkeeper_scrapes", "Scrapes run.",
                                      value=s.scraper.scrapes_total)
            yield CounterMetricFamily("watchkeeper_scrapes_late",
                                      "Scrape slots skipped because a scrape overran.",
                                      value=s.scraper.late_total)
            up = GaugeMetricFamily("watchkeeper_scrape_targets", "Targets by health.",
                                   labels=["health"])
            counts = {"up": 0, "down": 0, "unknown": 0}
            for state in s.scraper.states.values():
                counts[state.health] = counts.get(state.health, 0) + 1
            for health, count in sorted(counts.items()):
                up.add_metric([health], count)
            yield up
        from . import allocator

        if allocator.STATS.runs:
            yield CounterMetricFamily("watchkeeper_malloc_trims", "Times the allocator's free "
                                      "pages were returned to the system (glibc).",
                                      value=allocator.STATS.runs)
            yield CounterMetricFamily("watchkeeper_malloc_trim_released_bytes", "Resident "
                                      "memory those returns gave back.",
                                      value=allocator.STATS.released_bytes)
            yield CounterMetricFamily("watchkeeper_malloc_trim_seconds", "Time spent "
                                      "returning them (arenas are locked meanwhile).",
                                      value=allocator.STATS.seconds)
        hub = getattr(getattr(s, "streamer", None), "hub", None)
        if hub is not None:
            yield from stream_families(hub)
        yield GaugeMetricFamily("watchkeeper_collect_duration_seconds",
                                "Duration of the latest host and self collection.",
                                value=s.collect_seconds)
        yield GaugeMetricFamily("watchkeeper_config_last_reload_successful",
                                "Whether the last config reload succeeded.",
                                value=1.0 if s.last_reload_ok else 0.0)
        yield GaugeMetricFamily("watchkeeper_config_last_reload_success_timestamp_seconds",
                                "When the config was last loaded.", value=s.last_reload_time)
        yield GaugeMetricFamily("watchkeeper_start_time_seconds",
                                "When the server started.", value=s.started_at)


def retention_families(store: Any) -> Iterator[Metric]:
    """Whether retention keeps up: the span and bytes kept beside the configured limits
    (0: no limit), as the last maintenance measured them (Prometheus's
    ``prometheus_tsdb_lowest_timestamp_seconds`` and ``..._retention_limit_*``)."""
    if store.head.max_t != NO_TIME:
        yield GaugeMetricFamily("watchkeeper_tsdb_highest_timestamp_seconds",
                                "Time of the newest sample stored.",
                                value=store.head.max_t / 1000)
    db = getattr(store, "db", None)  # an agent's store keeps no chunks
    if db is not None:
        from watchkeeper.tsdb import chunk_cache, rollup_cache

        caches = GaugeMetricFamily("watchkeeper_tsdb_cache_bytes", "Bytes of decoded data "
                                   "kept between reads (each cache bounded by its budget).",
                                   labels=["cache"])
        caches.add_metric(["chunks"], chunk_cache.cached_bytes(db))
        caches.add_metric(["rollups"], rollup_cache.cached_bytes(db))
        yield caches
    yield GaugeMetricFamily("watchkeeper_tsdb_retention_limit_seconds",
                            "How long raw samples are kept (0: no time limit).",
                            value=(store.retention_ms or 0) / 1000)
    yield GaugeMetricFamily("watchkeeper_tsdb_retention_limit_bytes",
                            "Most bytes samples may take (0: no size limit).",
                            value=store.max_bytes or 0)
    if store.retained is None:
        return
    oldest, used, at = store.retained
    if oldest is not None:
        yield GaugeMetricFamily("watchkeeper_tsdb_lowest_timestamp_seconds",
                                "Time of the oldest raw sample kept on disk.",
                                value=oldest / 1000)
    yield GaugeMetricFamily("watchkeeper_tsdb_storage_bytes",
                            "Bytes of raw chunks and rollups, as size retention counts them.",
                            value=used)
    yield GaugeMetricFamily("watchkeeper_tsdb_maintenance_last_success_timestamp_seconds",
                            "When compaction, rollups and retention last completed.", value=at)


def stream_families(hub: Any) -> Iterator[Metric]:
    """What the live streams cost: evaluations once per distinct expression a tick, not
    once per subscriber (compare with the messages sent)."""
    yield GaugeMetricFamily("watchkeeper_stream_subscribers",
                            "Open WebSocket and SSE subscriptions.", value=hub.subscribers)
    yield CounterMetricFamily("watchkeeper_stream_ticks", "Stream ticks evaluated.",
                              value=hub.ticks)
    yield CounterMetricFamily("watchkeeper_stream_ticks_skipped",
                              "Ticks skipped because evaluating the previous one overran.",
                              value=hub.ticks_skipped)
    yield CounterMetricFamily("watchkeeper_stream_evaluations",
                              "Expressions evaluated by stream ticks (each distinct one once).",
                              value=hub.evaluations)
    yield CounterMetricFamily("watchkeeper_stream_messages", "Updates handed to subscribers.",
                              value=hub.messages)
    yield CounterMetricFamily("watchkeeper_stream_messages_dropped",
                              "Updates replaced by a newer one before a slow reader took them.",
                              value=hub.messages_dropped)


class StorageCheck:
    """The store's own health: degraded with its reasons, unhealthy if unusable."""

    name = "watchkeeper_storage"
    timeout = 5.0
    critical = True
    interval = 15.0

    def __init__(self, service: Any) -> None:
        self.service = service

    def check(self) -> Outcome:
        store = self.service.store
        if store is None:
            return unhealthy("store not open")
        state = store.health()
        if state.ok:
            return healthy(f"{len(store.head.by_id)} series")
        return degraded("; ".join(state.reasons))


class ScrapeLoopCheck:
    """The scrape loop: degraded while any target is down (naming them), never critical."""

    name = "watchkeeper_scrape"
    timeout = 2.0
    critical = False
    interval = 15.0

    def __init__(self, service: Any) -> None:
        self.service = service

    def check(self) -> Outcome:
        scraper = self.service.scraper
        if scraper is None:
            return healthy("no scrape loop")
        down = [f"{st.target.url}: {st.last_error}" for st in scraper.states.values()
                if st.health == "down"]
        total = len(scraper.states)
        if down:
            return degraded(f"{len(down)}/{total} targets down: " + "; ".join(down[:5]))
        return healthy(f"{total} targets, last checked {time.strftime('%H:%M:%S')}")


class RuleEvaluatorCheck:
    """The rule evaluator: degraded while a rule fails to evaluate (naming it)."""

    name = "watchkeeper_rules"
    timeout = 2.0
    critical = False
    interval = 15.0

    def __init__(self, service: Any) -> None:
        self.service = service

    def check(self) -> Outcome:
        alerting = self.service.alerting
        if alerting is None:
            return healthy("no rule evaluator")
        groups = list(getattr(alerting.evaluator, "groups", []) or [])
        failing = [f"{g.group.name}/{getattr(r, 'name', '?')}: {r.last_error}"
                   for g in groups for r in g.rules if getattr(r, "health", "") == "err"]
        rules = sum(len(g.rules) for g in groups)
        if failing:
            return degraded(f"{len(failing)}/{rules} rules failing: " + "; ".join(failing[:5]))
        return healthy(f"{rules} rules in {len(groups)} groups")
