"""Where the tools read from: a running ``watchkeeper serve`` over HTTP (``--url``), or a
local store opened directly (``--data``) behind the same Prometheus-shaped routes, so every
tool has one code path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx


class BackendError(Exception):
    """The server answered with an error (its message is kept: it names the bad part)."""


class Backend:
    """``get(path, params)`` returns the ``data`` of a Prometheus-style answer, or the body
    of a non-API route such as ``/health``."""

    def __init__(self, client: Any, closer: Any = None) -> None:
        self._client = client
        self._closer = closer

    @classmethod
    def remote(cls, url: str, token: str | None = None, timeout: float = 30.0) -> Backend:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
        return cls(client, client.close)

    @classmethod
    def local(cls, data: str | Path) -> Backend:
        """The store at ``data`` behind the query and analysis routes, in this process.
        Health and alerts come from the store's own series there (no checks run)."""
        from types import SimpleNamespace

        from starlette.applications import Starlette
        from starlette.testclient import TestClient

        from watchkeeper.promql.engine import Engine
        from watchkeeper.promql.http_api import create_app
        from watchkeeper.server import routes_analysis
        from watchkeeper.tsdb.store import Store

        if not Path(data).exists():
            raise BackendError(f"no store at {data}")
        store = Store.open(data, background=False)
        engine = Engine(store)
        api = create_app(store, engine)
        app = Starlette(routes=[*routes_analysis.make_routes(SimpleNamespace(engine=engine)),
                                *api.routes])
        client = TestClient(app, raise_server_exceptions=False)

        def close() -> None:
            client.close()
            store.close()

        backend = cls(client, close)
        backend.is_local = True  # type: ignore[attr-defined]
        return backend

    is_local = False

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            r = self._client.get(path, params={k: v for k, v in (params or {}).items()
                                               if v is not None})
        except httpx.HTTPError as e:
            raise BackendError(f"cannot reach the server: {e}") from None
        try:
            body = r.json()
        except ValueError:
            if r.status_code == 404:
                raise BackendError(f"{path} is not available here") from None
            raise BackendError(f"{path}: HTTP {r.status_code}") from None
        if isinstance(body, dict) and body.get("status") == "error":
            raise BackendError(body.get("error") or f"{path}: HTTP {r.status_code}")
        if r.status_code == 404:
            raise BackendError(f"{path} is not available here")
        if isinstance(body, dict) and "data" in body and body.get("status") == "success":
            return body["data"]
        return body

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
