"""The anomaly band of a dashboard's charts: ``GET /dashboards/{id}/anomalies?start=&end=&step=``.

The server scores what the dashboards chart every 30 s and records the top series as
``watchkeeper:anomaly_score{expr="<the panel's query>", ...}``. This route reads those scores
over the charts' range in one query (through the server's own ``/api/v1/query_range``, like
the panels), keeps the points at or above the product's threshold (0.5) and answers, per panel
in dashboard order, the stretches of time each series was anomalous::

    {"status": "success", "data": [[{"metric": {...}, "from": t0, "to": t1, "score": 0.8}],
                                   [], ...]}

The chart shades those stretches: the same scores the alerts and the MCP tools see.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from .panel_data import _dispatch, _error
from .panels import Dashboard

THRESHOLD = 0.5  # the product's anomaly threshold (analysis.anomaly.ANOMALY_THRESHOLD)
SCORE_QUERY = f"watchkeeper:anomaly_score >= {THRESHOLD}"
_HEADERS = {"cache-control": "no-store"}


def _stretches(values: list[list[Any]], step: float) -> list[tuple[float, float, float]]:
    """Runs of consecutive points (at most one step apart): (from, to, highest score)."""
    out: list[tuple[float, float, float]] = []
    for t, v in values:
        t, v = float(t), float(v)
        if out and t - out[-1][1] <= step * 1.5:
            start, _, top = out[-1]
            out[-1] = (start, t, max(top, v))
        else:
            out.append((t, t, v))
    return out


def bands(dashboard: Dashboard, body: bytes, step: float) -> list[list[dict[str, Any]]]:
    """Each panel's anomalous stretches, from a query_range answer of the scores."""
    answer = json.loads(body)
    if answer.get("status") != "success":
        raise ValueError(answer.get("error") or "the scores could not be read")
    by_expr: dict[str, list[dict[str, Any]]] = {}
    for series in answer["data"]["result"]:
        metric = dict(series["metric"])
        expr = metric.pop("expr", None)
        if expr is None:
            continue
        metric.pop("__name__", None)
        if "metric" in metric:
            metric["__name__"] = metric.pop("metric")
        for start, end, top in _stretches(series["values"], step):
            by_expr.setdefault(expr, []).append({"metric": metric, "from": start, "to": end,
                                                 "score": top})
    return [by_expr.get(p.expr, []) if p.kind == "timeseries" else []
            for p in dashboard.panels()]


def anomalies_route(dashboards: list[Dashboard]) -> Any:
    """The Starlette route serving ``/dashboards/{id}/anomalies`` for these dashboards."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    by_id = {d.id: d for d in dashboards}

    async def endpoint(request: Request) -> Response:
        dashboard = by_id.get(request.path_params["id"])
        if dashboard is None:
            return Response(_error(f"no dashboard {request.path_params['id']!r}", "not_found"),
                            404, media_type="application/json", headers=_HEADERS)
        params = dict(request.query_params)
        missing = [p for p in ("start", "end", "step") if not params.get(p)]
        if missing:
            return Response(_error(f"missing parameter(s): {', '.join(missing)}"), 400,
                            media_type="application/json", headers=_HEADERS)
        query = urlencode({"query": SCORE_QUERY, "start": params["start"],
                           "end": params["end"], "step": params["step"]}).encode()
        body = await _dispatch(request.scope["router"], request.scope,
                               "/api/v1/query_range", query)
        from watchkeeper.promql.durations import parse_step

        try:
            step = parse_step(params["step"]) / 1000
        except Exception:
            step = 0.0  # the query answered the error already
        try:
            data = bands(dashboard, body, step)
        except (ValueError, KeyError, TypeError):
            return Response(body, 400, media_type="application/json", headers=_HEADERS)
        return Response(json.dumps({"status": "success", "data": data},
                                   separators=(",", ":")).encode(),
                        media_type="application/json", headers=_HEADERS)

    return Route("/dashboards/{id}/anomalies", endpoint, methods=["GET"])
