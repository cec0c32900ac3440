"""The running server's parts and their life: open the store, start collecting, checking
and scraping, reload a new config in place, and flush everything on the way out.

A reload validates the new file first; a bad one leaves everything as it was and the reason
is kept in ``last_reload_error`` (and logged, without secrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from watchkeeper.analysis.resources import configure_from as configure_resources
from watchkeeper.config import ConfigError, LoadedConfig, load_config
from watchkeeper.config.secrets import Redactor, config_redactor
from watchkeeper.health.config import build_checks, default_checks
from watchkeeper.health.metrics import HealthCollector
from watchkeeper.health.runner import Runner
from watchkeeper.metrics.registry import REGISTRY, CollectorRegistry
from watchkeeper.scrape import ScrapeManager
from watchkeeper.tsdb import Store

from .auth import Authenticator
from .ingest import Ingester, family_samples
from .logs import protect
from .metadata import MetadataBook
from .metrics_route import CachedExposition
from .selfmetrics import RuleEvaluatorCheck, ScrapeLoopCheck, ServerCollector, StorageCheck

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
        self.runner = Runner(self._checks(loaded))
        self.scraper: ScrapeManager | None = None
        self.auth = self._authenticator(loaded)
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
    def _checks(self, loaded: LoadedConfig) -> list[Any]:
        from .routes_resources import performance_checks

        own = [StorageCheck(self), ScrapeLoopCheck(self), RuleEvaluatorCheck(self),
               *performance_checks(self, loaded.config)]
        if loaded.checks is None:
            return [*default_checks(), *own]
        return [*build_checks(loaded.checks), *own]

    @staticmethod
    def _authenticator(loaded: LoadedConfig) -> Authenticator:
        auth = loaded.config.web.auth
        return Authenticator([t.get_secret_value() for t in auth.bearer_tokens],
                             {u: h.get_secret_value() for u, h in auth.basic_auth_users.items()})

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
        self.remote = self._start_remote_write()
        self.otlp_export = self._start_otlp_export()
        from watchkeeper.promql.engine import Engine

        self.engine = Engine(self.store, limits=self.query_limits())
        configure_resources(self.config)
        if not self.agent:  # agent mode: no rules, reports or analysis (no history)
            self.alerting = await asyncio.to_thread(self._start_alerting)
            self._start_reports()
            self.analysis = self._start_analysis()
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

    def _start_remote_write(self) -> Any:
        """Before anything ingests, so the queues see every sample (none when unset)."""
        if not self.config.remote_write:
            return None
        from watchkeeper.remote import RemoteWrite

        data = Path(self.data_path)
        remote = RemoteWrite(self.store, self.config.remote_write,
                             data.parent / f"{data.name}-remote_write",
                             metadata_source=self._metadata_items)
        remote.start()
        self.registry.register(remote)
        return remote

    def _start_otlp_export(self) -> Any:
        """OTLP/HTTP out, beside remote write (none when ``otlp_export`` is unset)."""
        if not self.config.otlp_export:
            return None
        try:
            import opentelemetry.proto  # noqa: F401  (the otlp extra)

            from watchkeeper.otlp.exporter import OTLPExport
        except ImportError:
            log.error("otlp_export needs the opentelemetry-proto package: pip install "
                      "'watchkeeper[otlp]'; not exporting")
            return None
        data = Path(self.data_path)
        export = OTLPExport(self.store, self.config.otlp_export,
                            data.parent / f"{data.name}-otlp_export",
                            metadata_source=self._metadata_items)
        export.start()
        self.registry.register(export)
        return export

    def analysis_queries(self) -> list[str]:
        """The config's anomaly queries, or every query the shown dashboards chart."""
        chosen = self.config.analysis.anomaly.queries
        if chosen is not None:
            return list(chosen)
        from watchkeeper.dashboard.panels import all_dashboards

        shown = all_dashboards(self.loaded.dashboards)
        return list(dict.fromkeys(p.expr for d in shown for p in d.panels()))

    def _start_analysis(self) -> Any:
        """Anomaly scores and time until full on their timers (none when disabled)."""
        cfg = self.config.analysis
        if not cfg.anomaly.enabled:
            return None
        from watchkeeper.analysis.watch import AnalysisWatch

        watch = AnalysisWatch(self.store, self.engine, self.analysis_queries(),
                              interval_s=cfg.anomaly.interval,
                              max_series=cfg.anomaly.max_series,
                              record_top=cfg.anomaly.record_top,
                              capacity_interval_s=cfg.capacity_interval)
        watch.start()
        return watch

    def _metadata_items(self) -> list[tuple[str, str, str, str]]:
        """Every family's (name, type, help, unit): scraped targets, own, pushed."""
        from .metadata import all_metadata

        return all_metadata(self)

    def _start_alerting(self) -> Any:
        from watchkeeper.alerting.service import AlertingService
        from watchkeeper.config.loader import alerting_section

        base = Path(self.loaded.file).parent if self.loaded.file else Path(".")
        try:
            service = AlertingService(self.store, self.engine, alerting_section(self.config),
                                      self.alerting_path, base_dir=base)
            service.start()
        except Exception:
            log.exception("alerting could not start; serving without it")
            return None
        self.registry.register(service)
        return service

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
            self.last_reload_time = time.time()
            if not path:
                return self._reload_failed("no config file was given at startup")
            try:
                loaded = await asyncio.to_thread(load_config, path)
                checks = self._checks(loaded)
            except ConfigError as e:
                return self._reload_failed(str(e))
            if (loaded.config.storage.path != self.config.storage.path
                    or loaded.config.web.listen_address != self.config.web.listen_address):
                log.warning("storage.path and web.listen_address take effect on restart")
            old = self.config
            self.loaded, self.config = loaded, loaded.config
            self.auth = self._authenticator(loaded)
            self.redactor = Redactor([*self.redactor.values,
                                      *config_redactor(loaded).values])  # old ones may linger
            protect(self.redactor)
            if self.engine is not None:
                self.engine.limits = self.query_limits()
            if self.ingester is not None:
                self.ingester.external_labels = dict(loaded.config.global_.external_labels)
            for check in self.runner.checks():
                self.runner.remove(check.name)
            for check in checks:
                self.runner.add(check)
            if _dumped(loaded.config.remote_write) != _dumped(old.remote_write):
                await asyncio.to_thread(self._reload_remote_write)
            if self.scraper is not None:
                await self.scraper.apply(loaded.config)
            if self.alerting is not None:
                from watchkeeper.config.loader import alerting_section

                if alerting_section(loaded.config) != alerting_section(old):
                    self.alerting.rule_files = [
                        p if Path(p).is_absolute() else str(Path(path).parent / p)
                        for p in loaded.config.rule_files]
                try:
                    await asyncio.to_thread(self.alerting.reload,
                                            alerting_section(loaded.config))
                except Exception as e:
                    log.error("rule files not reloaded: %s", e)
            configure_resources(loaded.config)
            if self.analysis is not None:
                self.analysis.queries = self.analysis_queries()
                self.analysis.interval_s = loaded.config.analysis.anomaly.interval
            self.last_reload_ok, self.last_reload_error = True, ""
            log.info("config reloaded from %s", path)
            return True, "config reloaded"

    def _reload_remote_write(self) -> None:
        old = self.remote
        if old is None:
            self.remote = self._start_remote_write()
        else:
            self.remote = old.replace(self.config.remote_write)
            self.registry.unregister(old)
            self.registry.register(self.remote)
        log.info("remote write reloaded: %d endpoints", len(self.config.remote_write))

    def _reload_failed(self, reason: str) -> tuple[bool, str]:
        reason = self.redactor.text(reason)
        self.last_reload_ok, self.last_reload_error = False, reason
        log.error("config reload failed, keeping the running config: %s", reason)
        return False, reason


def _dumped(entries: list[Any]) -> list[dict[str, Any]]:
    return [e.model_dump() for e in entries]  # (secrets compare by value)


class _Forward:
    """Serve the process-wide default registry's metrics from the server's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.source = registry

    def collect(self) -> Any:
        return self.source.collect()
