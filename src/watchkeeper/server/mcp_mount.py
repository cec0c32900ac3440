"""``/mcp`` as the running config has it: a reload that changes ``web.mcp`` (tools on or
off, the write tools, the prefix, the allowlist, OAuth) or the web auth it depends on
rebuilds the endpoint, with no restart.

Why a holder: the SDK's session manager runs in a task group that must be entered and
left in one task, so each built endpoint lives in its own task of the server's task
group. A request after a reload builds the new one, switches to it, and lets the old one
finish the requests it is serving (for up to 30 s) before it stops.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import anyio

log = logging.getLogger("watchkeeper.server")

DRAIN_SECONDS = 30.0


class _Built:
    """One endpoint: (endpoint, extra routes) or None when the config turns /mcp off."""

    def __init__(self, key: Any) -> None:
        self.key = key
        self.served: tuple[Any, list[Any]] | None = None
        self.router: Any = None
        self.active = 0
        self.stop = anyio.Event()


class McpMount:
    """The ASGI app at ``/mcp`` (and, through ``extras``, the routes that come with it,
    such as the OAuth metadata) that follows the config.

    ``open_endpoint()`` is an async context manager yielding (endpoint, routes) or None;
    ``settings()`` returns what a rebuild depends on (compared by value)."""

    def __init__(self, open_endpoint: Callable[[], Any], settings: Callable[[], Any]) -> None:
        self._open = open_endpoint
        self._settings = settings
        self._built: _Built | None = None
        self._lock = anyio.Lock()
        self._tasks: Any = None
        self.rebuilds = 0  # endpoints built after the first one

    async def start(self, stack: contextlib.AsyncExitStack) -> None:
        """Builds the first endpoint in a task group that ``stack`` closes."""
        self._tasks = await stack.enter_async_context(anyio.create_task_group())
        stack.push_async_callback(self.close)
        async with self._lock:
            await self._build(self._settings())

    async def close(self) -> None:
        if self._built is not None:
            self._built.stop.set()

    async def current(self) -> _Built | None:
        """The endpoint for the config now, rebuilt first if the config changed."""
        key = self._settings()
        if self._built is None or self._built.key != key:
            async with self._lock:
                if self._built is None or self._built.key != key:
                    await self._build(key)
                    self.rebuilds += 1
        return self._built

    async def _build(self, key: Any) -> None:
        built, ready = _Built(key), anyio.Event()
        self._tasks.start_soon(self._hold, built, ready)
        await ready.wait()
        old, self._built = self._built, built
        if old is not None:
            old.stop.set()

    async def _hold(self, built: _Built, ready: anyio.Event) -> None:
        try:
            async with self._open() as served:
                built.served = served
                if served is not None and served[1]:
                    from starlette.routing import Router

                    built.router = Router(routes=list(served[1]))
                ready.set()
                await built.stop.wait()
                with anyio.move_on_after(DRAIN_SECONDS):
                    while built.active:
                        await anyio.sleep(0.05)
        except Exception:  # in the server's task group: never take the server down
            log.exception("/mcp is off: it could not be built")
        finally:
            ready.set()  # a build that failed leaves /mcp off rather than waiting forever

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        built = await self.current()
        if built is None or built.served is None:
            await _not_found(scope, receive, send)
            return
        await self._serve(built, built.served[0], scope, receive, send)

    async def extras(self, scope: Any, receive: Any, send: Any) -> None:
        """The routes the endpoint brought (the OAuth protected-resource metadata)."""
        built = await self.current()
        if built is None or built.router is None:
            await _not_found(scope, receive, send)
            return
        await self._serve(built, built.router, scope, receive, send)

    @staticmethod
    async def _serve(built: _Built, app: Any, scope: Any, receive: Any, send: Any) -> None:
        built.active += 1
        try:
            await app(scope, receive, send)
        finally:
            built.active -= 1


async def _not_found(scope: Any, receive: Any, send: Any) -> None:
    from starlette.responses import PlainTextResponse

    await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
