"""``/health/performance`` and ``/metrics/{database,cache,circuit-breaker}`` on the server.

The pools, caches and breakers of an instrumented app reach the server as series on the
app's ``/metrics``, scraped into the store like any target; these routes read the latest
value of each (within the lookback of an instant query) and answer what the same paths
answer inside the app (``integrations.resources``), with ``job`` and ``instance`` on each
row. The server's own monitors reach the store through its own collection. The config's
``performance`` section sets the status thresholds and adds a readiness check.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watchkeeper.integrations.resources import PATHS, Sample, respond

SELECTOR = ('{__name__=~"db_client_.+|cache_.+|circuit_breaker_.+|'
            'watchkeeper_health_score(_penalty)?"}')


def stored_samples(engine: Any) -> list[Sample]:
    if engine is None:
        return []
    vec = engine.instant(SELECTOR, int(time.time() * 1000)).value
    out: list[Sample] = []
    for labels, values, mask in zip(vec.labels, vec.values, vec.mask, strict=True):
        if mask[0]:
            lab = dict(labels)
            out.append((lab.pop("__name__", ""), lab, float(values[0])))
    return out


def thresholds(config: Any) -> dict[str, float]:
    """The config's ``performance`` thresholds (the defaults when it has none)."""
    perf = getattr(config, "performance", None)
    if perf is None:
        return {}
    return {"degraded_below": perf.degraded_below, "unhealthy_below": perf.unhealthy_below}


def performance_checks(service: Any, config: Any) -> list[Any]:
    """With a ``performance`` section, a check on the stored scores (critical if
    ``ready``), so ``/health/ready`` follows the scraped services' overall score."""
    perf = getattr(config, "performance", None)
    if perf is None:
        return []
    from watchkeeper.integrations.resources_apps import performance_check

    return [performance_check(degraded_below=perf.degraded_below,
                              unhealthy_below=perf.unhealthy_below, critical=perf.ready,
                              interval=perf.interval,
                              samples=lambda: stored_samples(service.engine))]


def make_routes(service: Any) -> list[Route]:
    async def answer(request: Request) -> Response:
        samples = await asyncio.to_thread(stored_samples, service.engine)
        status, ctype, body = respond(request.url.path, request.headers.get("accept", ""),
                                      lambda: samples, **thresholds(service.config))
        return Response(body, status_code=status, media_type=ctype)

    return [Route(path, answer, methods=["GET", "HEAD"]) for path in PATHS]
