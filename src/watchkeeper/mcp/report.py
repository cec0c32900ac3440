"""A day's or a week's review in one small answer: which alerts fired and how often, how
long they took to acknowledge, each check's availability and flaps, each job's uptime and
what runs out first. Every figure is computed here from the store and the alert history."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

from .backend import Backend, BackendError
from .shapes import BUDGET, ToolError, human, num, size
from .tools import capacity

PERIODS = {"day": 86400, "week": 7 * 86400}


def _vector(backend: Backend, expr: str, at: float) -> list[tuple[dict[str, str], float]]:
    try:
        data = backend.get("/api/v1/query", {"query": expr, "time": at})
    except BackendError:
        return []
    return [(r["metric"], float(r["value"][1])) for r in data.get("result", [])]


def _alerts(backend: Backend, start: float, end: float, span: str) -> dict[str, Any]:
    try:
        rows = backend.get("/api/v1/incidents", {
            "start": datetime.fromtimestamp(start, UTC).isoformat(), "limit": 500})
    except BackendError:  # a bare store: the recorded ALERTS series
        fired = _vector(backend, f'count by (alertname, severity) (max_over_time('
                                 f'ALERTS{{alertstate="firing"}}[{span}]))', end)
        return {"source": "ALERTS series", "fired": sorted(
            {m.get("alertname", "") for m, _ in fired})}
    by: dict[str, dict[str, Any]] = {}
    acks: list[float] = []
    for r in rows:
        if r["started_ms"] / 1000 > end:
            continue
        name = r.get("rule") or r.get("labels", {}).get("alertname", "?")
        row = by.setdefault(name, {"alert": name, "severity": r.get("severity"),
                                   "incidents": 0, "open": 0, "firing_seconds": 0.0})
        row["incidents"] += 1
        stop = r["resolved_ms"] / 1000 if r.get("resolved_ms") else end
        row["firing_seconds"] += max(0.0, stop - max(start, r["started_ms"] / 1000))
        row["open"] += r.get("resolved_ms") is None
        if r.get("acked_ms"):
            acks.append((r["acked_ms"] - r["started_ms"]) / 1000)
    top = sorted(by.values(), key=lambda x: (-x["incidents"], -x["firing_seconds"]))
    for x in top:
        x["firing_for"] = human(x.pop("firing_seconds"), "seconds")
    return {"incidents": sum(x["incidents"] for x in top),
            "median_time_to_ack": human(statistics.median(acks), "seconds") if acks else None,
            "by_alert": top}


def report(backend: Backend, period: str = "week") -> dict[str, Any]:
    """The review of the last ``period`` (day or week), within the 8 KB budget."""
    if period not in PERIODS:
        raise ToolError(f"period {period!r} not understood: use day or week")
    end = time.time()
    start = end - PERIODS[period]
    span = "1d" if period == "day" else "7d"
    checks = _vector(backend, f"avg_over_time(watchkeeper_health_status[{span}])", end)
    flaps = {m.get("check"): v for m, v in _vector(
        backend, f"changes(watchkeeper_health_status[{span}])", end)}
    ups = _vector(backend, f"avg by (job) (avg_over_time(up[{span}]))", end)
    try:
        runs_out = [c for c in capacity(backend)["capacity"] if c["full_in"]][:3]
    except ToolError as e:
        runs_out = [f"not available: {e}"]
    out: dict[str, Any] = {
        "period": period, "from": datetime.fromtimestamp(start, UTC).isoformat(),
        "to": datetime.fromtimestamp(end, UTC).isoformat(),
        "alerts": _alerts(backend, start, end, span),
        "checks": [{"check": m.get("check"), "available": human(v, "ratio"),
                    "changes": int(flaps.get(m.get("check"), 0))}
                   for m, v in sorted(checks, key=lambda x: x[1])],
        "jobs": [{"job": m.get("job"), "up": human(v, "ratio"), "up_ratio": num(v)}
                 for m, v in sorted(ups, key=lambda x: x[1])],
        "runs_out_first": runs_out,
    }
    # Lists give way from their tails (the healthiest entries) until the answer fits.
    lists = [out["checks"], out["jobs"], out["alerts"].get("by_alert") or []]
    while size(out) > BUDGET and any(lists):
        max(lists, key=len).pop()
        out["truncated"] = True
    return out
