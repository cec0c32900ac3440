"""The Prometheus HTTP API (``/api/v1``) over a store, as a Starlette app to mount.

Same JSON shapes and error shapes as Prometheus (``status``, ``data``, ``errorType``,
``error``), so Grafana's Prometheus data source and promtool-style clients just work.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchkeeper.promql import ast
from watchkeeper.promql.durations import parse_step, parse_time
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.errors import (
    PromQLBadArgument,
    PromQLError,
    PromQLParseError,
    PromQLTimeout,
)
from watchkeeper.promql.json_out import result_json
from watchkeeper.promql.limits import MAX_POINTS, RESOLUTION_ERROR, SWITCH_INTERVAL_S, Budget
from watchkeeper.promql.parser import parse
from watchkeeper.tsdb.api import TimeSeriesStore
from watchkeeper.tsdb.matchers import Matcher

_STATUS = {"bad_data": 400, "execution": 422, "timeout": 503, "canceled": 503,
           "internal": 500, "not_found": 404}


def success(data: Any, warnings: Sequence[str] = ()) -> JSONResponse:
    body: dict[str, Any] = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = list(warnings)
    return JSONResponse(body)


def _answered(fn: Callable[..., Any]) -> Callable[..., bytes]:
    """fn's Result as the success body's bytes, written on the query's thread: a large
    answer's text takes as long as its evaluation and must not stall the event loop."""
    def run(*args: Any, budget: Budget) -> bytes:
        return result_json(fn(*args, budget=budget))
    return run


def failure(error_type: str, message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": error_type, "error": message},
                        status_code=_STATUS.get(error_type, 400))


async def _params(request: Request) -> dict[str, list[str]]:
    """Query string and, for POST, the urlencoded form, merged (as Prometheus's ParseForm)."""
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    if request.method == "POST":
        # urlencoded forms only (what Prometheus clients send); no multipart dependency
        body = (await request.body()).decode("utf-8", "replace")
        for key, value in parse_qsl(body, keep_blank_values=True):
            params.setdefault(key, []).append(value)
    return params


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _time(params: dict[str, list[str]], name: str, default: int | None = None) -> int | None:
    text = _one(params, name)
    if text is None or text == "":
        return default
    try:
        return parse_time(text)
    except PromQLBadArgument as e:
        raise PromQLBadArgument(f'invalid parameter "{name}": {e}') from None


def _matchers(params: dict[str, list[str]]) -> list[list[Matcher]]:
    groups = []
    for text in params.get("match[]", []):
        try:
            expr = parse(text)
        except PromQLParseError as e:
            raise PromQLBadArgument(f'invalid parameter "match[]": {e}') from None
        if not isinstance(expr, ast.VectorSelector):
            raise PromQLBadArgument('invalid parameter "match[]": expected a series selector')
        groups.append(expr.matchers)
    return groups


def _queued(fn: Callable[..., Any], budget: Budget) -> Callable[..., Any]:
    def start(*args: Any) -> Any:
        if time.monotonic() > budget.deadline:
            raise PromQLTimeout("query timed out in query queue")
        with budget:  # takes its turn on the evaluation slot
            return fn(*args, budget=budget)
    return start


def create_app(store: TimeSeriesStore, engine: Engine | None = None,
               version: str = "0.1.0") -> Starlette:
    """An ASGI app serving ``/api/v1/...`` for ``store``; mount it at the server root.

    Queries run on their own threads, at most ``engine.limits.max_concurrency`` at once
    (the rest queue, their timeout running), never on the event loop: health checks,
    /metrics and remote write answer while a query runs. A query past its timeout stops
    at the evaluator's next check and answers 503 ``timeout``, as Prometheus.
    """
    engine = engine or Engine(store)
    # a 1 ms GIL switch interval (Python's default is 5 ms): the event loop waits for the
    # GIL at most that long while a query evaluates (measured in bench/query_isolation.py)
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
    pool = ThreadPoolExecutor(max_workers=engine.limits.max_concurrency,
                              thread_name_prefix="promql")

    def run(fn, *args):  # type: ignore[no-untyped-def]
        return asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def run_query(params: dict[str, list[str]], fn, *args):  # type: ignore[no-untyped-def]
        asked = _one(params, "timeout")
        timeout = None
        if asked:
            try:
                timeout = parse_step(asked) / 1000
            except PromQLBadArgument as e:
                raise PromQLBadArgument(f'invalid parameter "timeout": {e}') from None
        budget = engine.budget(timeout if timeout and timeout > 0 else None)
        future = asyncio.get_running_loop().run_in_executor(pool, _queued(fn, budget), *args)
        try:
            # the evaluator stops itself at the deadline; this is the backstop for a step
            # that cannot check (one long store read), so the client is answered in time
            wait = max(0.0, budget.deadline - time.monotonic()) + 0.5
            return await asyncio.wait_for(future, timeout=wait)
        except TimeoutError:
            raise PromQLTimeout("query timed out in expression evaluation") from None
        finally:
            budget.cancelled = True  # answered, timed out or the client left: stop

    def handler(fn):  # type: ignore[no-untyped-def]
        async def endpoint(request: Request) -> Response:
            try:
                params = await _params(request)
                return await fn(request, params)
            except PromQLError as e:
                return failure(e.error_type, str(e))
        return endpoint

    async def query(request: Request, params: dict[str, list[str]]) -> Response:
        text = _one(params, "query")
        if not text:
            raise PromQLBadArgument('invalid parameter "query": no query given')
        at = _time(params, "time", int(time.time() * 1000))
        body = await run_query(params, _answered(engine.instant), text, at)
        return Response(body, media_type="application/json")

    async def query_range(request: Request, params: dict[str, list[str]]) -> Response:
        text = _one(params, "query")
        if not text:
            raise PromQLBadArgument('invalid parameter "query": no query given')
        start, end = _time(params, "start"), _time(params, "end")
        if start is None:
            raise PromQLBadArgument('invalid parameter "start": missing')
        if end is None:
            raise PromQLBadArgument('invalid parameter "end": missing')
        if end < start:
            raise PromQLBadArgument('invalid parameter "end": end timestamp must not be before '
                                    "start time")
        step_text = _one(params, "step")
        if not step_text:
            raise PromQLBadArgument('invalid parameter "step": missing')
        step = parse_step(step_text)
        if step <= 0:
            raise PromQLBadArgument('invalid parameter "step": zero or negative query '
                                    "resolution step widths are not accepted. Try a positive "
                                    "integer")
        if (end - start) // step > MAX_POINTS:
            raise PromQLBadArgument(RESOLUTION_ERROR)
        body = await run_query(params, _answered(engine.range), text, start, end, step)
        return Response(body, media_type="application/json")

    # The series and label routes run as queries do: on the query threads, within the
    # concurrency limit and the timeout (a broad match[] over many series is a long read)
    def series_of(groups, start, end, budget):  # type: ignore[no-untyped-def]
        seen: dict[tuple, dict[str, str]] = {}
        for matchers in groups:
            budget.check()
            for labels in store.series(matchers, start, end):
                seen.setdefault(tuple(labels), labels.to_dict())
        budget.check()
        return [seen[k] for k in sorted(seen)]

    def names_of(read, groups, start, end, budget):  # type: ignore[no-untyped-def]
        found: set[str] = set()
        for matchers in groups:
            budget.check()
            found.update(read(matchers, start, end))
        return sorted(found)

    async def series(request: Request, params: dict[str, list[str]]) -> JSONResponse:
        groups = _matchers(params)
        if not groups:
            raise PromQLBadArgument("no match[] parameter provided")
        start, end = _time(params, "start"), _time(params, "end")
        return success(await run_query(params, series_of, groups, start, end))

    async def labels(request: Request, params: dict[str, list[str]]) -> JSONResponse:
        start, end = _time(params, "start"), _time(params, "end")
        groups = _matchers(params) or [()]
        return success(await run_query(params, names_of, store.label_names, groups, start, end))

    async def label_values(request: Request, params: dict[str, list[str]]) -> JSONResponse:
        name = request.path_params["name"]
        start, end = _time(params, "start"), _time(params, "end")
        groups = _matchers(params) or [()]

        def read(matchers, start, end):  # type: ignore[no-untyped-def]
            return store.label_values(name, matchers, start, end)
        return success(await run_query(params, names_of, read, groups, start, end))

    async def metadata(request: Request, params: dict[str, list[str]]) -> JSONResponse:
        known = getattr(store, "metadata", None)
        families = await run(known) if known else {}
        wanted, limit = _one(params, "metric"), _one(params, "limit")
        out: dict[str, list[dict[str, str]]] = {}
        for name in sorted(families):
            if wanted and name != wanted:
                continue
            typ, help_text, unit = families[name]
            out[name] = [{"type": typ or "unknown", "help": help_text, "unit": unit}]
            if limit and limit.lstrip("-").isdigit() and 0 < int(limit) <= len(out):
                break
        return success(out)

    async def buildinfo(request: Request, params: dict[str, list[str]]) -> JSONResponse:
        return success({"version": version, "revision": "", "branch": "", "buildUser": "",
                        "buildDate": "", "goVersion": "python"})

    async def exemplars(request: Request, params: dict[str, list[str]]) -> JSONResponse:
        text = _one(params, "query")
        if not text:
            raise PromQLBadArgument('invalid parameter "query": no query given')
        parse(text)
        return success([])

    async def format_query(request: Request, params: dict[str, list[str]]) -> JSONResponse:
        text = _one(params, "query") or ""
        return success(str(parse(text)))

    both = ["GET", "POST"]
    routes = [
        Route("/api/v1/query", handler(query), methods=both),
        Route("/api/v1/query_range", handler(query_range), methods=both),
        Route("/api/v1/series", handler(series), methods=both),
        Route("/api/v1/labels", handler(labels), methods=both),
        Route("/api/v1/label/{name}/values", handler(label_values), methods=["GET"]),
        Route("/api/v1/metadata", handler(metadata), methods=["GET"]),
        Route("/api/v1/status/buildinfo", handler(buildinfo), methods=["GET"]),
        Route("/api/v1/query_exemplars", handler(exemplars), methods=both),
        Route("/api/v1/format_query", handler(format_query), methods=both),
    ]
    return Starlette(routes=routes)


__all__ = ["create_app", "failure", "success"]
