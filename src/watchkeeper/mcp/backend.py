"""Where the tools read from: a running ``watchkeeper serve`` over HTTP (``--url``), or a
local store opened directly (``--data``) behind the same Prometheus-shaped routes, so every
tool has one code path."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


class BackendError(Exception):
    """The server answered with an error (its message is kept: it names the bad part)."""


class Backend:
    """``get(path, params)`` returns the ``data`` of a Prometheus-style answer, or the body
    of a non-API route such as ``/health``. ``engine`` is the PromQL engine when the store
    is in this process (a range query then skips the JSON round trip), else None."""

    def __init__(self, client: Any = None, closer: Any = None,
                 opener: Callable[[], tuple[Any, Any, Any]] | None = None,
                 engine: Callable[[], Any] | None = None) -> None:
        self._opened = client
        self._closer = closer
        self._opener = opener  # builds (client, closer, engine) on first use
        self._engine = engine
        self._lock = threading.Lock()
        self._errors: tuple[type[Exception], ...] = ()  # the client's transport errors

    @property
    def _client(self) -> Any:
        if self._opened is None and self._opener is not None:
            with self._lock:
                if self._opened is None:
                    self._opened, self._closer, engine = self._opener()
                    self._engine = lambda: engine
        return self._opened

    @property
    def engine(self) -> Any:
        self._client  # noqa: B018 - a local store opens here
        return self._engine() if self._engine is not None else None

    @classmethod
    def remote(cls, url: str, token: str | None = None, timeout: float = 30.0) -> Backend:
        import httpx  # only here: a local store's and the server's own backends never need it

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
        backend = cls(client, client.close)
        backend._errors = (httpx.HTTPError,)
        return backend

    @classmethod
    def local(cls, data: str | Path) -> Backend:
        """The store at ``data`` behind the query and analysis routes, in this process.
        Health and alerts come from the store's own series there (no checks run). The
        store opens on the first call: a client's ``initialize`` never waits for it."""
        if not Path(data).exists():
            raise BackendError(f"no store at {data}")
        backend = cls(opener=lambda: _open_local(Path(data)))
        backend.is_local = True  # type: ignore[attr-defined]
        return backend

    @classmethod
    def of_store(cls, store: Any) -> Backend:
        """An open store (kept open by its owner) behind the same routes."""
        backend = cls(opener=lambda: _serve(store, lambda: None))
        backend.is_local = True  # type: ignore[attr-defined]
        return backend

    is_local = False

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            r = self._client.get(path, params={k: v for k, v in (params or {}).items()
                                               if v is not None})
        except self._errors as e:
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

    def text(self, path: str, params: dict[str, Any] | None = None) -> str:
        """A route's body as text (a Markdown report); BackendError with its reason."""
        try:
            r = self._client.get(path, params=params or {})
        except self._errors as e:
            raise BackendError(f"cannot reach the server: {e}") from None
        if r.status_code == 404:
            raise BackendError(f"{path} is not available here")
        if r.status_code >= 400:
            raise BackendError(f"{path}: HTTP {r.status_code} {r.text[:200]}")
        return str(r.text)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """A write (silence, acknowledge): the ``data`` of the answer, or BackendError with
        the server's reason."""
        try:
            r = self._client.post(path, json=body)
        except self._errors as e:
            raise BackendError(f"cannot reach the server: {e}") from None
        try:
            answer = r.json()
        except ValueError:
            answer = {}
        if r.status_code >= 400 or (isinstance(answer, dict)
                                     and answer.get("status") == "error"):
            reason = answer.get("error") if isinstance(answer, dict) else None
            raise BackendError(f"{path} refused: HTTP {r.status_code} "
                               f"{reason or r.text[:200]}")
        if isinstance(answer, dict) and answer.get("status") == "success":
            return answer.get("data")
        return answer

    def close(self) -> None:
        if self._closer is not None:
            self._closer()


def _open_local(data: Path) -> tuple[Any, Any]:
    from watchkeeper.tsdb.store import Store

    store = Store.open(data, background=False)
    return _serve(store, store.close)


def _serve(store: Any, close_store: Callable[[], None]) -> tuple[Any, Any, Any]:
    from types import SimpleNamespace

    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from watchkeeper.promql.engine import Engine
    from watchkeeper.promql.http_api import create_app
    from watchkeeper.server import routes_analysis

    engine = Engine(store)
    api = create_app(store, engine)
    app = Starlette(routes=[*routes_analysis.make_routes(SimpleNamespace(engine=engine)),
                            *api.routes])
    client = TestClient(app, raise_server_exceptions=False)
    client.portal, stop_portal = _portal()

    def close() -> None:
        stop_portal()
        client.close()
        close_store()

    return client, close, engine


def _portal() -> tuple[Any, Callable[[], None]]:
    """An event loop on a daemon thread for every request of a local backend, and how to
    stop it. Why: a test client without one starts a thread per request (``status`` makes
    a dozen: a third of its time); the client's own (``with client``) lives on a worker
    thread that the interpreter waits for at exit, so a backend never closed would hang it."""
    import queue
    import threading

    import anyio
    from anyio.from_thread import BlockingPortal

    ready: queue.Queue[BlockingPortal] = queue.Queue()

    async def serve() -> None:
        async with BlockingPortal() as portal:
            ready.put(portal)
            await portal.sleep_until_stopped()

    thread = threading.Thread(target=anyio.run, args=(serve,), name="watchkeeper-local-api",
                              daemon=True)
    thread.start()
    portal = ready.get()

    def stop() -> None:
        if thread.is_alive():
            portal.call(portal.stop)
            thread.join()

    return portal, stop
