"""The OpenAPI document for the routes Prometheus does not define (``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

_ERR = {"description": "error", "content": {"application/json": {}}}


def _op(summary: str, method: str = "get", body: str | None = None,
        params: list[tuple[str, str]] = (), responses: dict | None = None,
        path_params: list[tuple[str, str]] = ()) -> dict:
    op: dict[str, Any] = {"summary": summary,
                          "responses": responses or {"200": {"description": "ok"}, "400": _ERR}}
    if params or path_params:
        op["parameters"] = [{"name": n, "in": "path", "required": True,
                             "schema": {"type": "string"}, "description": d}
                            for n, d in path_params] + [
                            {"name": n, "in": "query", "schema": {"type": "string"},
                             "description": d} for n, d in params]
    if body:
        op["requestBody"] = {"required": True, "content": {body: {}}}
    return {method: op}


def document(version: str) -> dict[str, Any]:
    paths = {
        "/health": _op("Overall health as application/health+json (503 when failing).",
                       params=[("verbose", "plain-text listing"), ("fresh", "run checks now"),
                               ("exclude", "leave a check out")]),
        "/health/live": _op("Liveness: the process answers (never needs auth)."),
        "/health/ready": _op("Readiness: critical checks pass."),
        "/metrics": _op("The server's own metrics (text 0.0.4 or OpenMetrics)."),
        "/api/v1/write": _op("Prometheus remote write 1.0 (protobuf, snappy).", "post",
                             "application/x-protobuf",
                             responses={"204": {"description": "stored"}, "400": _ERR}),
        "/api/v1/import/prometheus": _op(
            "Import text exposition or OpenMetrics.", "post", "text/plain",
            params=[("extra_label", "name=value added to every sample (repeatable)")],
            responses={"204": {"description": "stored"}, "400": _ERR}),
        "/v1/metrics": _op(
            "OTLP/HTTP metrics (protobuf or JSON), stored under OpenTelemetry-to-Prometheus "
            "names; partial_success counts refused points.", "post", "application/x-protobuf",
            responses={"200": {"description": "stored"}, "400": _ERR}),
        "/api/v1/stream": _op("WebSocket: send {queries, health, interval (ms >= 100)}; "
                              "receives updates every interval."),
        "/api/v1/stream/sse": _op("Server-sent events of the same updates.",
                                  params=[("query", "PromQL (repeatable)"),
                                          ("health", "1 to include health"),
                                          ("interval", "milliseconds, at least 100")]),
        "/api/v1/status/host": _op(
            "This host's CPU, memory, swap, load, disks, network and top processes, as "
            "watchkeeper stats shows them; rates over two snapshots interval apart.",
            params=[("interval", "seconds between the snapshots, 0.05 to 60 (default 1)"),
                    ("top", "processes listed by CPU and by memory (default 5)")]),
        "/api/v1/status/remote_write": _op(
            "Each remote_write and otlp_export endpoint: URL (credentials hidden), pending "
            "samples and on-disk backlog, last acknowledged position and time, samples "
            "sent/failed/retried/dropped, shards, last error."),
        "/api/v1/notifications": _op(
            "Who is notified: receivers, WATCHKEEPER_NOTIFY, sent/failed/dropped/queued per "
            "integration, firing alerts, and a hint when nobody is (for the dashboard)."),
        "/-/reload": _op("Reload the config file; a bad file keeps the running config.",
                         "post", responses={"200": {"description": "reloaded"},
                                            "500": {"description": "kept the old config"}}),
        "/api/v1/report": _op(
            "Build a report of a period now: availability, alerts, golden signals, changes, "
            "capacity, store health, error groups; HTML (inline SVG, no script) or Markdown.",
            params=[("period", "a PromQL duration, 1h to 90d (default 7d)"),
                    ("format", "html (default) or md"),
                    ("end", "the period's end: unix seconds or RFC 3339 (default now)"),
                    ("title", "the report's title")]),
        "/api/v1/reports": _op("The scheduled reports kept: file, report, bytes, time."),
        "/api/v1/reports/{name}/send": _op(
            "Build and send a scheduled report now, as its schedule would.", "post",
            path_params=[("name", "the report's name in the config")],
            responses={"200": {"description": "the file, its link and each delivery"},
                       "404": _ERR}),
        "/reports/{file}": _op("A kept report's page.", path_params=[("file", "its file")],
                               responses={"200": {"description": "text/html"},
                                          "404": {"description": "no such report"}}),
        "/-/healthy": _op("Prometheus-style health probe."),
        "/-/ready": _op("Prometheus-style readiness probe."),
    }
    paths.update(_error_paths())
    return {"openapi": "3.1.0",
            "info": {"title": "watchkeeper", "version": version,
                     "description": "Routes beyond Prometheus's HTTP API; /api/v1 query "
                                    "routes answer as Prometheus documents them."},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                               "basic": {"type": "http", "scheme": "basic"}}},
            "security": [{"bearer": []}, {"basic": []}],
            "paths": paths}


_NOT_FOUND = {"description": "no such error group", "content": {"application/json": {}}}
_GROUP = [("group", "the group id (16 hex digits)")]


def _error_paths() -> dict[str, Any]:
    """Error tracking: the groups, their status, and Sentry SDKs' ingest routes."""
    actions = {
        f"/api/v1/errors/{{group}}/{action}": _op(
            f"{what} (the group's status; a resolved group that comes back is a "
            "regression).", "post", path_params=_GROUP,
            responses={"200": {"description": "the group after the change"},
                       "404": _NOT_FOUND})
        for action, what in (("resolve", "Mark the group resolved"),
                             ("ignore", "Ignore the group"),
                             ("reopen", "Open the group again"))}
    sentry = {"200": {"description": "accepted: {id, accepted, skipped, groups}"},
              "400": {"description": "malformed, with the reason",
                      "content": {"application/json": {}}},
              "401": {"description": "the DSN's key is not a token of this server"},
              "413": {"description": "over the body limit"},
              "415": {"description": "unsupported Content-Encoding"}}
    project = [("project", "the DSN's project id (any)")]
    auth = [("sentry_key", "the DSN key, when not in X-Sentry-Auth"),
            ("sentry_version", "protocol version (ignored)")]
    return {
        "/api/v1/errors": _op(
            "Error groups: id, title, culprit, error_type, status, regressed, count, users "
            "(estimated), first_seen, last_seen, last_release.",
            params=[("status", "open, resolved or ignored"),
                    ("sort", "last_seen (default), first_seen or count"),
                    ("limit", "1..1000 (default 100)"), ("offset", "rows to skip")]),
        "/api/v1/errors/{group}": _op(
            "One group with its routes, its last sample events (locals redacted) and the "
            "explanation of why its events share it.", path_params=_GROUP,
            responses={"200": {"description": "ok"}, "404": _NOT_FOUND}),
        **actions,
        "/api/{project}/envelope/": _op(
            "Sentry SDK envelopes (a DSN pointing at this server): events, exceptions, "
            "messages and breadcrumbs are stored; other item types are accepted and "
            "skipped. gzip, deflate or br bodies.", "post", "application/x-sentry-envelope",
            params=auth, path_params=project, responses=sentry),
        "/api/{project}/store/": _op(
            "Sentry's legacy single-event store route.", "post", "application/json",
            params=auth, path_params=project, responses=sentry),
    }
