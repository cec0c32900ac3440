"""``/api/v1/errors``: error groups, one group with samples and why they share it, and
status changes (resolve, ignore, reopen: POST, behind the server's auth like every route).

The groups live in ``<data>-errors/errors.db`` beside the store's directory (the store treats
unknown entries in its own as foreign), opened on first use.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .routes_status import bad_data, ok

MAX_LIMIT = 1000


def not_found(message: str) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "not_found", "error": message},
                        status_code=404)


class ErrorRoutes:
    """The error store of one server and the routes that read and change it."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self._store: Any = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        data = Path(self.service.data_path)
        return data.parent / f"{data.name}-errors" / "errors.db"

    def store(self) -> Any:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from watchkeeper.errorstore import ErrorStore

                    self._store = ErrorStore(self.path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def collector(self) -> Any:
        from watchkeeper.errorstore.metrics import ErrorStoreCollector

        return ErrorStoreCollector(self.store)

    async def list_groups(self, request: Request) -> JSONResponse:
        q = request.query_params
        status = q.get("status") or None
        from watchkeeper.errorstore import STATUSES

        if status is not None and status not in STATUSES:
            return bad_data(f"status must be one of {', '.join(STATUSES)}")
        try:
            limit = int(q.get("limit", "100"))
            offset = int(q.get("offset", "0"))
        except ValueError:
            return bad_data("limit and offset must be integers")
        if not 0 < limit <= MAX_LIMIT or offset < 0:
            return bad_data(f"limit must be 1..{MAX_LIMIT} and offset not negative")
        sort = q.get("sort", "last_seen")
        if sort not in ("last_seen", "first_seen", "count"):
            return bad_data("sort must be last_seen, first_seen or count")
        store = await asyncio.to_thread(self.store)
        rows = await asyncio.to_thread(store.groups, status, limit, offset, sort)
        return ok(rows)

    async def show_group(self, request: Request) -> JSONResponse:
        from watchkeeper.errorstore import UnknownGroup

        gid = request.path_params["group"]
        store = await asyncio.to_thread(self.store)
        try:
            group = await asyncio.to_thread(store.group, gid, True)
        except UnknownGroup:
            return not_found(f"no error group {gid!r}")
        return ok(group)

    async def change_status(self, request: Request) -> JSONResponse:
        from watchkeeper.errorstore import ACTIONS, UnknownGroup

        gid = request.path_params["group"]
        status = ACTIONS[request.path_params["action"]]
        store = await asyncio.to_thread(self.store)
        try:
            group = await asyncio.to_thread(store.set_status, gid, status)
        except UnknownGroup:
            return not_found(f"no error group {gid!r}")
        return ok(group)

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/errors", self.list_groups, methods=["GET"]),
            Route("/api/v1/errors/{group}", self.show_group, methods=["GET"]),
            Route("/api/v1/errors/{group}/{action:str}", self._action, methods=["POST"]),
        ]

    async def _action(self, request: Request) -> JSONResponse:
        from watchkeeper.errorstore import ACTIONS

        if request.path_params["action"] not in ACTIONS:
            return not_found(f"no action {request.path_params['action']!r} "
                             f"(resolve, ignore, reopen)")
        return await self.change_status(request)
