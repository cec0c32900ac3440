"""The parts a config asks for, built for a running server: its health checks and
authenticator, and the optional services beside the store (remote write, OTLP export,
alerting, anomaly analysis).

Kept apart from the server's life so that starting and reloading build them the same way;
each optional part is None when the config leaves it out (or, for alerting, cannot start).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchkeeper.config import LoadedConfig
from watchkeeper.health.config import build_checks, default_checks

from .auth import Authenticator
from .metadata import all_metadata
from .selfmetrics import RuleEvaluatorCheck, ScrapeLoopCheck, StorageCheck

log = logging.getLogger("watchkeeper.server")


def health_checks(service: Any, loaded: LoadedConfig) -> list[Any]:
    """The config's checks (or the defaults without any), then the server's own."""
    from .routes_resources import performance_checks

    own = [StorageCheck(service), ScrapeLoopCheck(service), RuleEvaluatorCheck(service),
           *performance_checks(service, loaded.config)]
    if loaded.checks is None:
        return [*default_checks(), *own]
    return [*build_checks(loaded.checks), *own]


def authenticator(loaded: LoadedConfig) -> Authenticator:
    """The bearer tokens and basic-auth users of ``web.auth``."""
    auth = loaded.config.web.auth
    return Authenticator([t.get_secret_value() for t in auth.bearer_tokens],
                         {u: h.get_secret_value() for u, h in auth.basic_auth_users.items()})


def _started(service: Any, sender: Callable[..., Any], name: str) -> Any:
    """A sender of the store's samples (remote write, OTLP export) for the config's
    ``name``, started and registered: its queue beside the data directory, named after
    it; every family's (name, type, help, unit) asked for when sent (scraped targets,
    own, pushed)."""
    data = Path(service.data_path)
    out = sender(service.store, getattr(service.config, name),
                 data.parent / f"{data.name}-{name}",
                 metadata_source=lambda: all_metadata(service))
    out.start()
    service.registry.register(out)
    return out


def start_remote_write(service: Any) -> Any:
    """Before anything ingests, so the queues see every sample (none when unset)."""
    if not service.config.remote_write:
        return None
    from watchkeeper.remote import RemoteWrite

    return _started(service, RemoteWrite, "remote_write")


def start_otlp_export(service: Any) -> Any:
    """OTLP/HTTP out, beside remote write (none when ``otlp_export`` is unset)."""
    if not service.config.otlp_export:
        return None
    try:
        import opentelemetry.proto  # noqa: F401  (the otlp extra)

        from watchkeeper.otlp.exporter import OTLPExport
    except ImportError:
        log.error("otlp_export needs the opentelemetry-proto package: pip install "
                  "'watchkeeper[otlp]'; not exporting")
        return None
    return _started(service, OTLPExport, "otlp_export")


def analysis_queries(service: Any) -> list[str]:
    """The config's anomaly queries, or every query the shown dashboards chart."""
    chosen = service.config.analysis.anomaly.queries
    if chosen is not None:
        return list(chosen)
    from watchkeeper.dashboard.panels import all_dashboards

    shown = all_dashboards(service.loaded.dashboards)
    return list(dict.fromkeys(p.expr for d in shown for p in d.panels()))


def start_analysis(service: Any) -> Any:
    """Anomaly scores and time until full on their timers (none when disabled)."""
    cfg = service.config.analysis
    if not cfg.anomaly.enabled:
        return None
    from watchkeeper.analysis.watch import AnalysisWatch

    watch = AnalysisWatch(service.store, service.engine, analysis_queries(service),
                          interval_s=cfg.anomaly.interval,
                          max_series=cfg.anomaly.max_series,
                          record_top=cfg.anomaly.record_top,
                          capacity_interval_s=cfg.capacity_interval)
    watch.start()
    return watch


def start_alerting(service: Any) -> Any:
    """Rule evaluation and notification; none when it cannot start (the server serves on
    without it)."""
    from watchkeeper.alerting.service import AlertingService
    from watchkeeper.config.loader import alerting_section

    loaded = service.loaded
    base = Path(loaded.file).parent if loaded.file else Path(".")
    try:
        alerting = AlertingService(service.store, service.engine,
                                   alerting_section(service.config),
                                   service.alerting_path, base_dir=base)
        alerting.start()
    except Exception:
        log.exception("alerting could not start; serving without it")
        return None
    service.registry.register(alerting)
    return alerting
