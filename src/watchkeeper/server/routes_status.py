"""Prometheus-shaped status routes: targets, config (secrets redacted), TSDB, reload."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

from watchkeeper.config.secrets import redact_config
from watchkeeper.tsdb.label_stats import LabelStats, label_stats


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data})


def bad_data(message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "bad_data", "error": message},
                        status_code=400)


def _tsdb_figures(store: Any, limit: int) -> tuple[dict[str, Any], LabelStats]:
    """The store's own totals and the label index's cardinality (a worker thread's job)."""
    return store.stats(), label_stats(store.series(()), limit)


def config_document(service: Any) -> dict[str, Any]:
    """The running config as /api/v1/status/config shows it: every secret ``<secret>``."""
    data = service.config.model_dump(mode="python", by_alias=True, exclude={"checks"})
    if service.loaded.checks is not None:
        data["checks"] = [{"type": c.type, "name": c.name, "parameters": c.parameters,
                           "timeout": c.timeout, "interval": c.interval,
                           "critical": c.critical} for c in service.loaded.checks]
    return redact_config(data)


def targets_document(scraper: Any, state: str, pool: str) -> dict[str, Any]:
    """/api/v1/targets as Prometheus answers it: ``state`` any (default), active or
    dropped; ``pool`` (scrapePool) keeps one job's targets."""
    state = state.lower()
    data: dict[str, Any] = {"activeTargets": [], "droppedTargets": []}
    if scraper is None:
        return data
    if state in ("", "any", "active"):
        data["activeTargets"] = [t for t in scraper.active_targets()
                                 if not pool or t["scrapePool"] == pool]
    if state in ("", "any", "dropped"):
        data["droppedTargets"] = [t.to_api() for t in scraper.dropped_targets()
                                  if not pool or t.job_name == pool]
        data["droppedTargetCounts"] = scraper.dropped_counts()
    return data


def make_routes(service: Any, config_path: str | None) -> dict[str, Any]:
    async def targets(request: Request) -> JSONResponse:
        return ok(targets_document(service.scraper, request.query_params.get("state", ""),
                                   request.query_params.get("scrapePool", "")))

    async def status_config(request: Request) -> JSONResponse:
        text = yaml.safe_dump(config_document(service), sort_keys=False)
        return ok({"yaml": text})

    async def status_flags(request: Request) -> JSONResponse:
        return ok({"config.file": config_path or "",
                   "storage.tsdb.path": service.data_path,
                   "web.listen-address": service.config.web.listen_address})

    async def status_tsdb(request: Request) -> JSONResponse:
        try:
            limit = int(request.query_params.get("limit") or 10)
        except ValueError:
            limit = 0
        if limit <= 0:
            return bad_data("limit must be a positive number")
        stats, labels = await asyncio.to_thread(_tsdb_figures, service.store, limit)
        return ok({
            "headStats": {
                "numSeries": stats["series"],
                "numLabelPairs": labels.num_label_pairs,
                "chunkCount": stats["chunks"],
                "minTime": stats["min_time_ms"] or 0,
                "maxTime": stats["max_time_ms"] or 0,
            },
            **labels.to_api(),
            "watchkeeper": {k: v for k, v in stats.items() if k != "top_metrics"},
        })

    async def runtimeinfo(request: Request) -> JSONResponse:
        return ok({"startTime": service.started_at,
                   "reloadConfigSuccess": service.last_reload_ok,
                   "lastConfigTime": service.last_reload_time,
                   "lastConfigError": service.last_reload_error,
                   "storageRetention": f"{service.config.storage.retention:g}s"})

    async def status_remote_write(request: Request) -> JSONResponse:
        from watchkeeper.remote.status import status_document

        return ok(status_document(service.remote, service.otlp_export))

    async def reload(request: Request) -> PlainTextResponse:
        done, message = await service.reload(config_path)
        return PlainTextResponse(message + "\n", status_code=200 if done else 500)

    async def healthy(request: Request) -> PlainTextResponse:
        return PlainTextResponse("watchkeeper is Healthy.\n")

    async def ready(request: Request) -> PlainTextResponse:
        if service.store is None:
            return PlainTextResponse("watchkeeper is not ready.\n", status_code=503)
        return PlainTextResponse("watchkeeper is Ready.\n")

    return {"targets": targets, "status_config": status_config, "status_flags": status_flags,
            "status_tsdb": status_tsdb, "runtimeinfo": runtimeinfo, "reload": reload,
            "status_remote_write": status_remote_write,
            "healthy": healthy, "ready": ready}
