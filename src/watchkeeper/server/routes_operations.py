"""``GET /api/v1/operations``: the running and recent bulk operations the server knows of.

How operations reach the server: through the exported ``watchkeeper_bulk_*`` metrics.
An instrumented process serves them on its ``/metrics``, which the server scrapes like any
target; the server's own operations reach its store through its own collection. So this
route reads the store (the latest value of each series over ``window``, default 1h), one
row per (job, instance, operation); it needs no push endpoint and no extra port, and an
operation of a process that died stays listed until ``window`` passes. Error samples
(message and item id) are not metrics: they are listed for the server's own operations.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from watchkeeper.promql.durations import parse_duration

from .routes_status import bad_data, ok

DEFAULT_WINDOW = "1h"
MAX_WINDOW_MS = 31 * 86400_000
_GAUGES = {
    "items_expected": "total", "progress_ratio": "progress", "items_per_second": "rate",
    "eta_seconds": "eta_seconds", "duration_seconds": "duration_seconds",
    "running": "running", "stalled": "stalled",
    "last_progress_timestamp_seconds": "last_progress", "started_timestamp_seconds": "started",
}
_BOOLS = ("running", "stalled")
_INTS = ("total", "done", "ok", "failed", "skipped")


def _rows(engine: Any, window: str, now_ms: int) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}

    def each(expr: str) -> Any:
        vec = engine.instant(f"last_over_time({expr}[{window}])", now_ms).value
        for labels, values, mask in zip(vec.labels, vec.values, vec.mask, strict=True):
            if not mask[0]:
                continue
            lab = dict(labels)
            key = (lab.get("job", ""), lab.get("instance", ""), lab.get("operation", ""))
            row = rows.setdefault(key, {"job": key[0], "instance": key[1],
                                        "operation": key[2], "errors_by_type": {}})
            yield lab, row, float(values[0])

    for suffix, field in _GAUGES.items():
        for _lab, row, value in each(f"watchkeeper_bulk_{suffix}"):
            row[field] = value
    for lab, row, value in each("watchkeeper_bulk_items_total"):
        row[lab.get("result", "")] = value
    for lab, row, value in each("watchkeeper_bulk_errors_total"):
        row["errors_by_type"][lab.get("error_type", "")] = int(value)
    out = []
    for row in rows.values():
        if "running" not in row:
            continue  # counters without the gauges: not an operation we can describe
        for name in _BOOLS:
            row[name] = bool(row.get(name))
        for name in ("ok", "failed", "skipped"):
            row.setdefault(name, 0.0)
        row["done"] = row["ok"] + row["failed"] + row["skipped"]
        for name in _INTS:
            if row.get(name) is not None:
                row[name] = int(row[name])
        out.append(row)
    _add_local_errors(out)
    out.sort(key=lambda r: (not r["running"], -r.get("started", 0.0), r["operation"]))
    return out


def _add_local_errors(rows: list[dict[str, Any]]) -> None:
    """The kept error samples of operations running in this process."""
    from watchkeeper.integrations.bulk import OPERATIONS

    local = {}
    for op in OPERATIONS.all():
        local.setdefault(op.name, op)
    for row in rows:
        op = local.get(row["operation"])
        row["errors"] = [] if op is None or row["job"] != "watchkeeper" else [
            e.as_dict() for e in list(op.errors)]


def make_route(service: Any) -> Any:
    async def operations(request: Request) -> JSONResponse:
        window = request.query_params.get("window") or DEFAULT_WINDOW
        try:
            window_ms = parse_duration(window)
        except Exception:
            return bad_data(f"invalid parameter 'window': {window!r} is not a duration "
                            "such as 15m or 1h")
        if not 0 < window_ms <= MAX_WINDOW_MS:
            return bad_data("invalid parameter 'window': must be above 0 and at most 31d")
        state = request.query_params.get("state") or "all"
        if state not in ("all", "running", "finished"):
            return bad_data("invalid parameter 'state': use all, running or finished")
        if service.engine is None:
            return ok([])
        rows = await asyncio.to_thread(_rows, service.engine, f"{window_ms}ms",
                                       int(time.time() * 1000))
        if state != "all":
            rows = [r for r in rows if r["running"] == (state == "running")]
        return ok(rows)

    return operations
