"""The dashboard: a built single-page app and the dashboards it shows, as one ASGI app.

Mount it last, at the root, after the API routes::

    from watchkeeper.dashboard import dashboard_app
    routes = [..., Mount("/", app=dashboard_app(extra_dashboards))]

It serves ``index.html`` (never cached, so a new release shows at once), content-hashed
assets under ``/assets/`` (cached for a year, gzipped at build time),
``/dashboards.json`` (the built-in and configured dashboards) and ``/dashboards/{id}/query``
(all of one dashboard's panels in one request, answered by the server's ``/api/v1``). The
page talks to ``/api/v1`` and ``/health`` itself. Everything ships in the wheel: no CDN,
works offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .anomaly_band import anomalies_route
from .panel_data import query_route
from .panels import (
    Column,
    Dashboard,
    DashboardError,
    Panel,
    Row,
    Threshold,
    all_dashboards,
    builtin_dashboards,
    dashboards_from_config,
    load_dashboards,
    parse_dashboards,
)

STATIC_DIR = Path(__file__).with_name("static")
_ASSET_NAME = re.compile(r"[A-Za-z0-9_-]+\.(?:js|css)")

# The page runs only its own scripts: its assets and the inline boot script it was built
# with (allowed by hash), so a hostile label value that slipped past text rendering still
# could not load or run code.
CSP = ("default-src 'self'; script-src 'self'{hashes}; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)

__all__ = [
    "STATIC_DIR",
    "Column",
    "Dashboard",
    "DashboardError",
    "Panel",
    "Row",
    "Threshold",
    "all_dashboards",
    "builtin_dashboards",
    "dashboard_app",
    "dashboards_from_config",
    "load_dashboards",
    "parse_dashboards",
]


def _page_with_dashboards(index: Path, listing: bytes) -> bytes:
    """index.html with the dashboards inlined as a JSON data block (never executed, so the
    CSP allows it), saving the page a round trip before its first query."""
    safe = (listing.replace(b"<", b"\\u003c").replace(b">", b"\\u003e")
            .replace(b"&", b"\\u0026"))
    block = b'<script type="application/json" id="dashboards-data">' + safe + b"</script>"
    return index.read_bytes().replace(b"</head>", block + b"\n</head>", 1)


def inline_script_hashes(page: bytes) -> list[str]:
    """CSP sources for the page's own inline scripts (attribute-less ``<script>`` blocks)."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
            for body in _INLINE_SCRIPT.findall(page)]


def dashboard_app(dashboards: list[Dashboard] | None = None,
                  static_dir: Path | None = None) -> Any:
    """A Starlette app serving the page, its assets and ``/dashboards.json``.

    ``dashboards`` are the configured ones (from ``load_dashboards``); built-ins are added
    and a configured dashboard with a built-in's id replaces it.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    root = static_dir or STATIC_DIR
    index = root / "index.html"
    shown = all_dashboards(dashboards)
    listing = json.dumps({"dashboards": [d.to_json() for d in shown]},
                         separators=(",", ":")).encode()
    page_body = _page_with_dashboards(index, listing) if index.is_file() else None
    page_headers = {"cache-control": "no-cache", **SECURITY_HEADERS, "content-security-policy":
                    CSP.format(hashes="".join(" " + h for h in
                                              inline_script_hashes(page_body or b"")))}

    async def page(request: Request) -> Response:
        if page_body is None:
            return PlainTextResponse("dashboard assets are not built "
                                     "(cd frontend && npm ci && npm run build)\n", 503)
        return Response(page_body, media_type="text/html", headers=page_headers)

    async def dashboards_json(request: Request) -> Response:
        return Response(listing, media_type="application/json",
                        headers={"cache-control": "no-cache"})

    assets_dir = root / "assets"
    asset_types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

    async def asset(request: Request) -> Response:
        """Hashed names, so cached for good; the build's .gz twin when the client takes it."""
        name = request.path_params["name"]
        path = assets_dir / name
        kind = asset_types.get(path.suffix)
        if kind is None or not _ASSET_NAME.fullmatch(name) or not path.is_file():
            return PlainTextResponse("not found\n", 404)
        headers = {"cache-control": "public, max-age=31536000, immutable",
                   "x-content-type-options": "nosniff", "vary": "accept-encoding"}
        packed = path.with_name(name + ".gz")
        if "gzip" in request.headers.get("accept-encoding", "") and packed.is_file():
            headers["content-encoding"] = "gzip"
            path = packed
        return Response(path.read_bytes(), media_type=kind, headers=headers)

    routes = [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/index.html", page, methods=["GET", "HEAD"]),
        Route("/dashboards.json", dashboards_json, methods=["GET", "HEAD"]),
        Route("/assets/{name}", asset, methods=["GET", "HEAD"]),
        query_route(shown),
        anomalies_route(shown),
    ]
    return Starlette(routes=routes)
