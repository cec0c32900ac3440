"""``GET /api/v1/status/host``: the summary ``watchkeeper stats`` shows, for the server's host.

Why: someone on call asks the server what its host is doing without logging in there.
Rates need two snapshots ``interval`` apart; snapshots are taken on worker threads and the
wait is an ``asyncio.sleep``, so a slow answer never holds up scrapes or other requests.
"""

from __future__ import annotations

import asyncio
import math

from starlette.requests import Request
from starlette.responses import JSONResponse

from .routes_status import bad_data, ok

MAX_INTERVAL = 60.0
MIN_INTERVAL = 0.05


def _parse(request: Request) -> tuple[float, int] | str:
    """(interval, top) from the query string, or what was wrong with it."""
    params = request.query_params
    try:
        interval = float(params.get("interval") or 1.0)
    except ValueError:
        return f"invalid parameter 'interval': {params.get('interval')!r} is not a number"
    if not math.isfinite(interval) or not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        return f"invalid parameter 'interval': must be between {MIN_INTERVAL:g} and " \
               f"{MAX_INTERVAL:g} seconds"
    try:
        top = int(params.get("top") or 5)
    except ValueError:
        return f"invalid parameter 'top': {params.get('top')!r} is not an integer"
    if top < 0:
        return "invalid parameter 'top': must not be negative"
    return interval, top


async def host_status(request: Request) -> JSONResponse:
    from watchkeeper.system.snapshot import summarize, take_snapshot

    parsed = _parse(request)
    if isinstance(parsed, str):
        return bad_data(parsed)
    interval, top = parsed
    previous = await asyncio.to_thread(take_snapshot)
    await asyncio.sleep(interval)
    current = await asyncio.to_thread(take_snapshot)
    return ok(await asyncio.to_thread(summarize, previous, current, top))
