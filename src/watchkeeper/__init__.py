"""watchkeeper: monitoring and diagnostics for Python services and their hosts.

A drop-in for prometheus_client: change ``from prometheus_client import ...`` to
``from watchkeeper import ...``. Names are imported on first use so that importing the
package costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # the data model shared by every collector
    "Metric": "watchkeeper.metrics.family",
    "Sample": "watchkeeper.metrics.family",
    "Exemplar": "watchkeeper.metrics.family",
    "CounterMetricFamily": "watchkeeper.metrics.family",
    "GaugeMetricFamily": "watchkeeper.metrics.family",
    "SummaryMetricFamily": "watchkeeper.metrics.family",
    "HistogramMetricFamily": "watchkeeper.metrics.family",
    "GaugeHistogramMetricFamily": "watchkeeper.metrics.family",
    "InfoMetricFamily": "watchkeeper.metrics.family",
    "StateSetMetricFamily": "watchkeeper.metrics.family",
    "UnknownMetricFamily": "watchkeeper.metrics.family",
    "UntypedMetricFamily": "watchkeeper.metrics.family",
    # registry
    "CollectorRegistry": "watchkeeper.metrics.registry",
    "REGISTRY": "watchkeeper.metrics.registry",
    # metric types
    "Counter": "watchkeeper.metrics",
    "Gauge": "watchkeeper.metrics",
    "Histogram": "watchkeeper.metrics",
    "Summary": "watchkeeper.metrics",
    "Info": "watchkeeper.metrics",
    "Enum": "watchkeeper.metrics",
    "disable_created_metrics": "watchkeeper.metrics",
    "enable_created_metrics": "watchkeeper.metrics",
    # exposition and serving
    "generate_latest": "watchkeeper.exposition",
    "CONTENT_TYPE_LATEST": "watchkeeper.exposition",
    "generate_openmetrics": "watchkeeper.exposition",
    "CONTENT_TYPE_OPENMETRICS": "watchkeeper.exposition",
    "make_asgi_app": "watchkeeper.exposition",
    "make_wsgi_app": "watchkeeper.exposition",
    "start_http_server": "watchkeeper.exposition",
    "start_wsgi_server": "watchkeeper.exposition",
    "write_to_textfile": "watchkeeper.exposition",
    # parsing
    "text_string_to_metric_families": "watchkeeper.exposition.parse",
    "text_fd_to_metric_families": "watchkeeper.exposition.parse",
    "openmetrics_string_to_metric_families": "watchkeeper.exposition.parse",
    "openmetrics_fd_to_metric_families": "watchkeeper.exposition.parse",
    "ParseError": "watchkeeper.exposition.parse",
    # multiprocess mode for pre-fork servers
    "MultiProcessCollector": "watchkeeper.metrics.multiprocess",
    "mark_process_dead": "watchkeeper.metrics.multiprocess",
    # process and runtime collectors registered on REGISTRY by default
    "ProcessCollector": "watchkeeper.metrics.runtime",
    "PROCESS_COLLECTOR": "watchkeeper.metrics.runtime",
    "PlatformCollector": "watchkeeper.metrics.runtime",
    "PLATFORM_COLLECTOR": "watchkeeper.metrics.runtime",
    "GCCollector": "watchkeeper.metrics.runtime",
    "GC_COLLECTOR": "watchkeeper.metrics.runtime",
    # bulk operations, tasks, locks and job queues
    "bulk": "watchkeeper.integrations.bulk",
    "track_task": "watchkeeper.integrations.tasks",
    "track_asyncio_tasks": "watchkeeper.integrations.tasks",
    "hook": "watchkeeper.integrations.tasks",
    "tracked_lock": "watchkeeper.integrations.locks",
    "tracked_async_lock": "watchkeeper.integrations.locks",
    "tracked_redis_lock": "watchkeeper.integrations.locks_remote",
    "advisory_lock": "watchkeeper.integrations.locks_remote",
    "instrument_celery": "watchkeeper.integrations.jobs.celery",
    "watch_queues": "watchkeeper.integrations.jobs.depth",
    "instrument_dramatiq": "watchkeeper.integrations.jobs.dramatiq",
    "instrument_arq": "watchkeeper.integrations.jobs.arq",
    "capture_exception": "watchkeeper.integrations.errors.capture",
    # web services: server middlewares, user activity, outgoing HTTP
    "HTTPMetricsMiddleware": "watchkeeper.integrations.asgi",
    "WSGIMetricsMiddleware": "watchkeeper.integrations.wsgi",
    # resource monitors: circuit breakers, caches, connection pools
    "circuit_breaker": "watchkeeper.integrations.breaker",
    "CircuitBreaker": "watchkeeper.integrations.breaker",
    "CircuitOpenError": "watchkeeper.integrations.breaker",
    "RedisBreakerState": "watchkeeper.integrations.breaker_shared",
    "FileBreakerState": "watchkeeper.integrations.breaker_shared",
    "instrument_pybreaker": "watchkeeper.integrations.breaker_adapters",
    "instrument_circuitbreaker": "watchkeeper.integrations.breaker_adapters",
    "cached": "watchkeeper.integrations.cache",
    "watch_lru": "watchkeeper.integrations.cache",
    "watch_cachetools": "watchkeeper.integrations.cache",
    "watch_aiocache": "watchkeeper.integrations.cache",
    "instrument_redis": "watchkeeper.integrations.cache_clients",
    "instrument_memcache": "watchkeeper.integrations.cache_clients",
    "TieredCache": "watchkeeper.integrations.cache_tiered",
    "instrument_pool": "watchkeeper.integrations.db",
    "resources_asgi_app": "watchkeeper.integrations.resources_apps",
    "resources_wsgi_app": "watchkeeper.integrations.resources_apps",
    "performance_check": "watchkeeper.integrations.resources_apps",
}

__all__ = [*_EXPORTS, "health"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        if name == "health":
            return importlib.import_module("watchkeeper.health")
        raise AttributeError(f"module 'watchkeeper' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .metrics.family import (  # noqa: F401
        CounterMetricFamily,
        Exemplar,
        GaugeHistogramMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        InfoMetricFamily,
        Metric,
        Sample,
        StateSetMetricFamily,
        SummaryMetricFamily,
        UnknownMetricFamily,
        UntypedMetricFamily,
    )
    from .metrics.registry import REGISTRY, CollectorRegistry  # noqa: F401
