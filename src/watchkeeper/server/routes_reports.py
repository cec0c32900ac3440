"""Reports over HTTP: ``/api/v1/report`` builds one on demand (what ``watchkeeper report
--url`` asks), ``/api/v1/reports`` lists the scheduled ones kept, ``/reports/FILE`` serves
one (the link a webhook carries); ``POST /api/v1/reports/NAME/send`` runs a schedule now.
Behind the server's auth like every route."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .routes_status import bad_data, ok

#: The kept pages are the server's own, with no script: a policy keeps it so.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                           "img-src data:", "X-Content-Type-Options": "nosniff"}


def reports_folder(data_path: str) -> Path:
    """Beside the store's directory (the store treats unknown entries in its own as
    foreign)."""
    data = Path(data_path)
    return data.parent / f"{data.name}-reports"


def report_source(service: Any, errors: Callable[[], Any] | None = None) -> Any:
    """The running server's store, alert history and error store, as a report reads them."""
    from watchkeeper.reports.source import Source

    history = service.alerting.history if service.alerting is not None else None
    return Source(service.engine, history, errors() if errors is not None else None,
                  service.loaded.dashboards)


def report_scheduler(service: Any) -> Any:
    """The scheduler of ``service``'s config ``reports``: receivers, links and sources
    read from the running config, so a reload takes effect at the next firing."""
    from watchkeeper.reports.archive import Archive
    from watchkeeper.reports.schedule import ReportScheduler

    def receivers() -> dict[str, Any]:
        return {str(r.get("name", "")): r for r in service.config.alerting.get("receivers")
                or [] if isinstance(r, dict)}

    def base_url() -> str:
        external = str(service.config.alerting.get("external_url") or "")
        scheme = "https" if service.config.web.tls_cert_file else "http"
        return external or f"{scheme}://{service.config.web.listen_address}"

    return ReportScheduler(lambda: service.config.reports, receivers,
                           lambda: report_source(service, service.error_store),
                           Archive(reports_folder(service.data_path)), base_url)


def make_routes(service: Any, errors: Callable[[], Any] | None = None) -> list[Route]:
    from watchkeeper.reports.archive import Archive

    lock = asyncio.Lock()  # one build at a time: a report reads the whole period

    async def build(request: Request) -> Response:
        from watchkeeper.promql.durations import parse_time
        from watchkeeper.reports import build_report, render_html, render_markdown
        from watchkeeper.reports.period import parse_period

        q = request.query_params
        period = q.get("period", "7d")
        fmt = q.get("format", "html")
        if fmt not in ("html", "md"):
            return bad_data(f"format must be html or md, not {fmt[:20]!r}")
        try:
            parse_period(period)
        except ValueError as e:
            return bad_data(f"period: {e}")
        end = None
        if q.get("end"):
            try:
                end = parse_time(q["end"]) / 1000.0
            except Exception as e:
                return bad_data(f"end: {e}")
            if not 0 <= end <= time.time() + 366 * 86400:
                return bad_data("end must be a time between 1970 and a year from now")
        title = q.get("title", "")[:200]
        if service.engine is None:
            return PlainTextResponse("the store is not open yet\n", 503)
        async with lock:
            report = await asyncio.to_thread(build_report, report_source(service, errors),
                                             period, end, title)
        if fmt == "md":
            return PlainTextResponse(render_markdown(report), media_type="text/markdown")
        return Response(render_html(report), media_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)

    async def listing(request: Request) -> Response:
        return ok(Archive(reports_folder(service.data_path)).listing())

    async def page(request: Request) -> Response:
        found = Archive(reports_folder(service.data_path)).path(request.path_params["file"])
        if found is None:
            return PlainTextResponse("no such report\n", 404)
        return FileResponse(found, media_type="text/html; charset=utf-8",
                            headers=PAGE_HEADERS)

    async def send(request: Request) -> Response:
        """Build and send a scheduled report now, as its schedule would (to try one)."""
        name = request.path_params["name"]
        found = [s for s in service.config.reports if s.name == name]
        if not found or service.reports is None:
            return JSONResponse({"status": "error", "errorType": "not_found",
                                 "error": f"no scheduled report named {name[:64]!r}"}, 404)
        outcome = await service.reports.fire(found[0])
        return ok({"report": outcome.report, "file": outcome.file, "url": outcome.url,
                   "seconds": round(outcome.seconds, 3), "delivered": outcome.delivered})

    return [Route("/api/v1/report", build), Route("/api/v1/reports", listing),
            Route("/api/v1/reports/{name}/send", send, methods=["POST"]),
            Route("/reports/{file}", page)]
