"""``/api/v1/analysis/*``: what changed, capacity, forecasts and anomaly scores over the
store, answered by the analysis room (the CLI and the MCP tools call the same functions).

Every parameter problem is a 400 ``bad_data`` naming the parameter; PromQL problems answer
as the query API does. Work runs in a thread so the event loop keeps answering.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from watchkeeper.promql.durations import format_duration, parse_duration, parse_time
from watchkeeper.promql.errors import PromQLError

from .routes_status import bad_data, ok

MAX_WINDOW_MS = 31 * 86400_000
MAX_TIME_MS = 32_503_680_000_000  # the year 3000: past it, millisecond arithmetic overflows
MAX_SERIES = 200  # forecasts and anomaly scores are per series: a bound on the work


class _Bad(ValueError):
    pass


def _param_time(request: Request, name: str, default_ms: int) -> int:
    text = request.query_params.get(name)
    if not text:
        return default_ms
    try:
        ms = parse_time(text)
    except Exception:
        raise _Bad(f"invalid parameter {name!r}: {text!r} is not a unix time or "
                   "RFC 3339") from None
    if not 0 <= ms <= MAX_TIME_MS:
        raise _Bad(f"invalid parameter {name!r}: out of range (1970 to 3000)")
    return ms


def _param_duration(request: Request, name: str, default: str) -> int:
    text = request.query_params.get(name) or default
    try:
        ms = parse_duration(text)
    except Exception:
        raise _Bad(f"invalid parameter {name!r}: {text!r} is not a duration such as "
                   "1h") from None
    if not 0 < ms <= MAX_WINDOW_MS:
        raise _Bad(f"invalid parameter {name!r}: must be above 0 and at most 31d")
    return ms


def _param_int(request: Request, name: str, default: int, hi: int) -> int:
    text = request.query_params.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _Bad(f"invalid parameter {name!r}: {text!r} is not an integer") from None
    if not 1 <= value <= hi:
        raise _Bad(f"invalid parameter {name!r}: must be between 1 and {hi}")
    return value


def _finite(x: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def _forecast(engine: Any, query: str, now_ms: int, lookback_ms: int, horizon_ms: int,
              method: str, threshold: float | None) -> list[dict[str, Any]]:
    from watchkeeper.analysis.forecasting import forecast
    from watchkeeper.analysis.views import grid

    step = max(1000, lookback_ms // 500)
    labels, times, values = grid(engine, query, now_ms - lookback_ms, now_ms, step)
    if len(labels) > MAX_SERIES:
        raise _Bad(f"the query selects {len(labels)} series; forecasts take at most "
                   f"{MAX_SERIES}: aggregate it (sum by, topk)")
    at = times[-1] + np.linspace(0, horizon_ms / 1000.0, 25)[1:]
    period = round(86400 / (step / 1000.0))
    out = []
    for lbl, row in zip(labels, values, strict=True):
        ok_ = np.isfinite(row)
        if ok_.sum() < 3:
            continue
        use = method
        if use == "auto":
            use = "holt_winters" if ok_.sum() >= 2 * period and period >= 2 else "linear"
        f = forecast(times[ok_], row[ok_], at, method=use, period=period, threshold=threshold)
        out.append({"labels": lbl, "method": use, "times": f.times.tolist(),
                    "values": f.values.tolist(), "lower": f.lower.tolist(),
                    "upper": f.upper.tolist(), "backtest_mape": f.backtest_mape,
                    "crossing": f.crossing})
    return out


def _anomalies(engine: Any, query: str, start_ms: int, end_ms: int,
               step_ms: int) -> list[dict[str, Any]]:
    from watchkeeper.analysis.anomaly import ANOMALY_THRESHOLD, anomaly_scores
    from watchkeeper.analysis.views import grid

    labels, times, values = grid(engine, query, start_ms, end_ms, step_ms)
    if len(labels) > MAX_SERIES:
        raise _Bad(f"the query selects {len(labels)} series; anomaly scores take at most "
                   f"{MAX_SERIES}: narrow the selector")
    out = []
    for lbl, row in zip(labels, values, strict=True):
        scores = anomaly_scores(row, step_ms / 1000)
        flagged = np.flatnonzero(scores >= ANOMALY_THRESHOLD)
        out.append({"labels": lbl, "max_score": float(scores.max()) if len(scores) else 0.0,
                    "anomalies": [[float(times[i]), float(row[i]), float(scores[i])]
                                  for i in flagged]})
    out.sort(key=lambda r: -r["max_score"])
    return out


def make_routes(service: Any) -> list[Route]:
    async def run(request: Request, fn: Any, *args: Any) -> JSONResponse:
        if service.engine is None:
            return ok([])
        try:
            return ok(_finite(await asyncio.to_thread(fn, service.engine, *args)))
        except _Bad as e:
            return bad_data(str(e))
        except (PromQLError, OverflowError, RecursionError) as e:
            return bad_data(str(e) or type(e).__name__)
        except ValueError as e:  # too little data for the analysis asked
            return JSONResponse({"status": "error", "errorType": "execution",
                                 "error": str(e)}, status_code=422)

    def now() -> int:
        return int(time.time() * 1000)

    async def changes(request: Request) -> JSONResponse:
        from watchkeeper.analysis.views import ALL_SERIES, what_changed

        try:
            at = _param_time(request, "at", now())
            window = _param_duration(request, "window", "1h")
            top = _param_int(request, "top", 20, 500)
        except _Bad as e:
            return bad_data(str(e))
        match = request.query_params.get("match") or ALL_SERIES
        answer = await run(request, what_changed, at, window, match, 120, top)
        if answer.status_code != 200 or service.engine is None:
            return answer
        # the events of the window beside the series (alerts, health, restarts, reloads,
        # new error groups): a sibling of "data", so clients reading "data" are unchanged
        from watchkeeper.analysis.events import events_between

        events = await asyncio.to_thread(events_between, service.engine, at - window,
                                         at + window)
        body = json.loads(answer.body)
        body["events"] = _finite(events)
        return JSONResponse(body)

    async def capacity(request: Request) -> JSONResponse:
        from watchkeeper.analysis.views import capacity as capacity_of

        try:
            at = _param_time(request, "time", now())
            lookback = _param_duration(request, "lookback", "7d")
        except _Bad as e:
            return bad_data(str(e))
        return await run(request, capacity_of, at, lookback)

    async def forecast_route(request: Request) -> JSONResponse:
        query = request.query_params.get("query")
        if not query:
            return bad_data("missing parameter 'query'")
        method = request.query_params.get("method") or "auto"
        if method not in ("auto", "linear", "holt", "holt_winters"):
            return bad_data("invalid parameter 'method': use auto, linear, holt or "
                            "holt_winters")
        try:
            at = _param_time(request, "time", now())
            lookback = _param_duration(request, "lookback", "7d")
            horizon = _param_duration(request, "horizon", "1d")
            text = request.query_params.get("threshold")
            threshold = float(text) if text else None
        except _Bad as e:
            return bad_data(str(e))
        except ValueError:
            return bad_data("invalid parameter 'threshold': not a number")
        return await run(request, _forecast, query, at, lookback, horizon, method, threshold)

    async def anomalies(request: Request) -> JSONResponse:
        query = request.query_params.get("query")
        if not query:
            return bad_data("missing parameter 'query'")
        try:
            end = _param_time(request, "end", now())
            window = _param_duration(request, "window", "1h")
            step = _param_duration(request, "step", "15s")
        except _Bad as e:
            return bad_data(str(e))
        if window // step > 11_000:
            return bad_data("window/step gives more than 11,000 points: raise 'step'")
        return await run(request, _anomalies, query, end - window, end, step)

    async def plan_route(request: Request) -> JSONResponse:
        from watchkeeper.analysis.planning import plan

        try:
            at = _param_time(request, "time", now())
            window = _param_duration(request, "window", "1d")
            lookback = _param_duration(request, "lookback", "7d")
            top = _param_int(request, "top", 10, 100)
            text = request.query_params.get("target") or "0.8"
            target = float(text)
        except _Bad as e:
            return bad_data(str(e))
        except ValueError:
            return bad_data("invalid parameter 'target': not a number")
        if not 0 < target <= 1:
            return bad_data("invalid parameter 'target': a utilisation above 0 and at most 1")
        span = format_duration(max(1000, window // 1000 * 1000))  # never the text itself
        return await run(request, plan, at, span, lookback, target, top)

    async def scores(request: Request) -> JSONResponse:
        """The server's latest anomaly scores, highest first (the recorded top series)."""
        watch = getattr(service, "analysis", None)
        if watch is None:
            return ok([])
        return ok(_finite([{"expr": s.expr, "labels": s.labels, "score": s.score,
                            "value": s.value} for s in watch.latest()]))

    return [
        Route("/api/v1/analysis/scores", scores),
        Route("/api/v1/analysis/plan", plan_route),
        Route("/api/v1/analysis/changes", changes),
        Route("/api/v1/analysis/capacity", capacity),
        Route("/api/v1/analysis/forecast", forecast_route),
        Route("/api/v1/analysis/anomalies", anomalies),
    ]
