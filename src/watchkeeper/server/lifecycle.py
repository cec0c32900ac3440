"""The running server's life: open the store, start collecting, checking and scraping,
and flush everything on the way out.

What a config asks for is built in ``components``; a reload applies a new config in place
(``reload``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from watchkeeper.analysis.resources import configure_from as configure_resources
from watchkeeper.config import LoadedConfig
from watchkeeper.config.secrets import Redactor, config_redactor
from watchkeeper.health.metrics import HealthCollector
from watchkeeper.health.runner import Runner
from watchkeeper.metrics.registry import REGISTRY, CollectorRegistry
from watchkeeper.scrape import ScrapeManager
from watchkeeper.tsdb import Store

from .components import (
    authenticator,
    health_checks,
    start_alerting,
    start_analysis,
    start_otlp_export,
    start_remote_write,
)
from .ingest import Ingester, family_samples
from .logs import protect
from .metadata import MetadataBook
from .metrics_route import CachedExposition
from .reload import reload_config
from .selfmetrics import ServerCollector

log = logging.getLogger("watchkeeper.server")


class Service:
    """Everything ``watchkeeper serve`` runs, independent of the HTTP layer."""

    def __init__(self, loaded: LoadedConfig, *, data_path: str | None = None) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.data_path = data_path or self.config.storage.path
        self.started_at = time.time()
        self.last_reload_ok = True
        self.last_reload_error = ""
        self.last_reload_time = self.started_at
        self.store: Store | None = None
        self.engine: Any = None
        self.alerting: Any = None
        self.analysis: Any = None
        self.remote: Any = None
        self.otlp_export: Any = None
        self.ingester: Ingester | None = None
        self.runner = Runner(health_checks(self, loaded))
        self.scraper: ScrapeManager | None = None
        self.auth = authenticator(loaded)
        self.redactor: Redactor = config_redactor(loaded)
        protect(self.redactor)
        self.registry = CollectorRegistry()
        self.exposition = CachedExposition(self.registry)  # /metrics, from collect_once
        self.metadata = MetadataBook()
        self.collect_seconds = 0.0
        self.collects_total = 0
        self._host: Any = None
        self._collect_task: asyncio.Task | None = None
        self._trim_task: asyncio.Task | None = None
        self.reports: Any = None  # the report scheduler, once started
        self.error_store: Any = None  # set by the app: () -> the error store
        self._reports_task: asyncio.Task | None = None
        self._reload_lock = asyncio.Lock()

    # -- pieces ------------------------------------------------------------------------
    @property
    def alerting_path(self) -> Path:
        """Beside the store's directory: the store treats unknown entries in its own as
        foreign."""
        data = Path(self.data_path)
        return data.parent / f"{data.name}-alerting"

    @property
    def agent(self) -> bool:
        """Agent mode: scrape, collect and forward only (no history, rules or alerts)."""
        return self.config.storage.mode == "agent"

    @property
    def instance(self) -> str:
        return self.config.web.listen_address

    # -- life --------------------------------------------------------------------------
    def open_store(self) -> Store:
        """Open the store now (before listening), so a locked or foreign data directory is
        a clean error at startup; raises the store's ``TSDBError``."""
        if self.store is None and self.agent:
            from watchkeeper.tsdb.agent import AgentStore

            self.store = AgentStore.open(Path(self.data_path))
            self.store.start_gc(self.config.storage.agent.truncate_frequency,
                                self._agent_mint)
        if self.store is None:
            storage = self.config.storage
            self.store = Store.open(Path(self.data_path), sync=storage.sync,
                                    retention_ms=int(storage.retention * 1000),
                                    max_bytes=storage.max_bytes)
        return self.store

    def _agent_mint(self) -> int:
        """Prometheus's agent truncation point (ms): the lowest timestamp every remote_write
        endpoint has sent, less ``min_wal_time``, and never older than ``max_wal_time``.
        (The agent store reads the config through here, so a reload applies.)"""
        agent = self.config.storage.agent
        senders = self.remote.senders if self.remote is not None else []
        lowest = min((s.highest_sent_ts for s in senders), default=0)
        now = int(time.time() * 1000)
        return max(lowest - int(agent.min_wal_time * 1000),
                   now - int(agent.max_wal_time * 1000))

    async def start(self) -> None:
        if self.store is None:
            await asyncio.to_thread(self.open_store)
        assert self.store is not None
        if self.store.recovery.records:
            log.info("store recovered: %s", self.store.recovery)
        self.ingester = Ingester(self.store, self.config.global_.external_labels)
        self.remote = start_remote_write(self)
        self.otlp_export = start_otlp_export(self)
        from watchkeeper.promql.engine import Engine

        self.engine = Engine(self.store, limits=self.query_limits())
        configure_resources(self.config)
        if not self.agent:  # agent mode: no rules, reports or analysis (no history)
            self.alerting = await asyncio.to_thread(start_alerting, self)
            self._start_reports()
            self.analysis = start_analysis(self)
        self.registry.register(_Forward(REGISTRY))
        self.registry.register(HealthCollector(self.runner))
        self.registry.register(ServerCollector(self))
        from watchkeeper.metrics.runtime import EVENT_LOOP_LAG_COLLECTOR

        EVENT_LOOP_LAG_COLLECTOR.watch()
        self.runner.start()
        self.scraper = ScrapeManager(self.ingester.write)
        await self.scraper.apply(self.config)
        self._collect_task = asyncio.create_task(self._collect_loop(), name="collect")
        self._trim_task = asyncio.create_task(self._trim_loop(), name="malloc-trim")
        log.info("watchkeeper %s on %s, data in %s, %d scrape jobs, %d checks",
                 "forwarding (agent mode)" if self.agent else "serving", self.instance,
                 self.data_path, len(self.config.scrape_configs),
                 len(self.runner.checks()))

    def _start_reports(self) -> None:
        """The scheduler of the config's ``reports`` (idle without any; a reload may add
        some)."""
        from .routes_reports import report_scheduler

        self.reports = report_scheduler(self)
        self.registry.register(self.reports)
        self._reports_task = asyncio.create_task(self.reports.run(), name="reports")

    async def stop(self) -> None:
        """Stop loops, then flush and close the store (bounded: SIGTERM exits within 5 s)."""
        if self._reports_task is not None:
            self._reports_task.cancel()
        if self._trim_task is not None:
            self._trim_task.cancel()
        if self._collect_task is not None:
            self._collect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._collect_task
        if self.scraper is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.scraper.stop(), 1.0)
        with contextlib.suppress(Exception):
            self.runner.stop()
        if self.alerting is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(self.alerting.stop), 1.5)
        if self.analysis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(self.analysis.stop), 1.0)
        if self.store is not None:
            try:
                await asyncio.wait_for(asyncio.to_thread(self.store.close), 3.5)
                log.info("store flushed and closed")
            except TimeoutError:  # a big head on a busy machine: the exit keeps its bound
                log.warning("the store's final checkpoint is taking over 3.5 s; it "
                            "finishes before the process exits (killed first, the "
                            "write-ahead log is replayed at the next start)")
        senders = [s for s in (self.remote, self.otlp_export) if s is not None]
        if senders:  # side by side: the exit stays within its bound
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(
                    *[asyncio.to_thread(s.stop) for s in senders]), 1.5)

    # -- collection --------------------------------------------------------------------
    def _host_collector(self) -> Any:
        if self._host is None:
            from watchkeeper.system import HostCollector

            self._host = HostCollector()
        return self._host

    def collect_once(self) -> int:
        """Host, process, own and health metrics into the store now (a worker thread)."""
        assert self.ingester is not None
        clock = time.perf_counter()
        now_ms = int(time.time() * 1000)
        target = {"job": "watchkeeper", "instance": self.instance}
        families: list[Any] = list(self.registry.collect())
        self.exposition.update(families)
        if self.config.collect_host:
            families.extend(self._host_collector().collect())
        self.metadata.collected(families)
        kept = self.ingester.write(family_samples(families, target, now_ms))
        self.collect_seconds = time.perf_counter() - clock
        self.collects_total += 1
        return kept

    async def _collect_loop(self) -> None:
        while True:
            interval = self.config.global_.collect_interval
            try:
                await asyncio.to_thread(self.collect_once)
            except Exception:
                log.exception("collecting metrics failed")
            await asyncio.sleep(max(0.05, interval - self.collect_seconds))

    async def _trim_loop(self) -> None:
        """Free arena pages back to the system now and then (see server.allocator)."""
        from . import allocator

        while allocator.available():
            await asyncio.sleep(allocator.TRIM_INTERVAL_S)
            try:
                released = await asyncio.to_thread(allocator.trim)
                log.debug("malloc_trim released %.1f MB", released / 2**20)
            except Exception:
                log.exception("trimming the allocator's free memory failed")

    def query_limits(self) -> Any:
        from watchkeeper.promql.limits import QueryLimits

        q = self.config.query
        return QueryLimits(q.timeout, q.max_samples, q.max_concurrency)

    # -- reload ------------------------------------------------------------------------
    async def reload(self, path: str | None) -> tuple[bool, str]:
        """Load ``path`` again; on any problem keep the running config and say why."""
        async with self._reload_lock:
            return await reload_config(self, path)


class _Forward:
    """Serve the process-wide default registry's metrics from the server's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.source = registry

    def collect(self) -> Any:
        return self.source.collect()
