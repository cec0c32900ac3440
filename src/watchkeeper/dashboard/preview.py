"""The page over a store without the full server: the Prometheus API, health endpoints,
alert and rule routes when an evaluator is given, and the dashboard at the root.

Useful to look at a data directory's history (``python -m watchkeeper.dashboard.preview
DATA_DIR``) and as the server the page's own browser tests and benchmark drive.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from . import Dashboard, dashboard_app
from .csrf import CrossSiteGuard


def preview_app(store: Any, *, runner: Any = None, evaluator: Any = None,
                extra_routes: Sequence[Any] = (),
                dashboards: list[Dashboard] | None = None) -> Any:
    """``extra_routes`` first, then the APIs, then the page at ``/``; cross-site changes
    refused."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from watchkeeper.health.asgi import starlette_routes
    from watchkeeper.health.runner import Runner
    from watchkeeper.promql.http_api import create_app

    async def no_config(request: Any) -> Any:
        """No config here, so no receiver: the page's banner says how to add one."""
        return JSONResponse({"status": "success", "data": {"yaml": ""}})

    routes: list[Any] = list(extra_routes)
    routes.append(Route("/api/v1/status/config", no_config))
    if evaluator is not None:
        from watchkeeper.alerting.rules_api import rules_routes

        routes += rules_routes(evaluator)
    routes += create_app(store).routes
    routes += starlette_routes("/health", runner if runner is not None else Runner())
    routes.append(Mount("/", app=dashboard_app(dashboards)))
    return CrossSiteGuard(Starlette(routes=routes))


def run_in_thread(app: Any, port: int, timeout: float = 20.0) -> tuple[Any, str]:
    """Start uvicorn for ``app`` on 127.0.0.1:``port`` in a daemon thread; (server, url).

    Set ``server.should_exit = True`` to stop it.
    """
    import threading
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, name="dashboard-preview", daemon=True).start()
    deadline = time.monotonic() + timeout
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError(f"the preview server did not start on port {port}")
    return server, f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> None:
    """Serve a data directory's history on 127.0.0.1:9099 (or the port given second)."""
    import uvicorn

    from watchkeeper.tsdb import Store

    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit("usage: python -m watchkeeper.dashboard.preview DATA_DIR [PORT]")
    with Store.open(args[0]) as store:
        port = int(args[1]) if len(args) > 1 else 9099
        uvicorn.run(preview_app(store), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
