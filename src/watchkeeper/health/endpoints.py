"""The three health endpoints, independent of any web framework.

``/health`` is the full report, ``/health/live`` says the process answers (no dependency
checks), ``/health/ready`` is readiness from the critical checks. Responses come from the
runner's cached results, so a request never runs fifty checks; ``?fresh=1`` forces a run
(rate limited and coalesced by the runner). Rendered bodies are cached until a result
changes, so a probe costs about as much as returning a constant.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass
from urllib.parse import parse_qs

from . import report
from .model import Status, overall_status
from .runner import Runner, default_runner

HEALTH, LIVE, READY = "health", "live", "ready"
_KINDS = {
    "": HEALTH, "health": HEALTH, "healthz": HEALTH,
    "live": LIVE, "livez": LIVE,
    "ready": READY, "readyz": READY,
}
_FALSE = {"0", "false", "no", "off"}
_CACHE_LIMIT = 64
_HEADERS = (("cache-control", "no-store"),)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = _HEADERS

    def all_headers(self) -> list[tuple[str, str]]:
        return [("content-type", self.content_type),
                ("content-length", str(len(self.body))), *self.headers]


NOT_FOUND = Response(404, report.TEXT_CONTENT_TYPE, b"not found\n")
NOT_ALLOWED = Response(405, report.TEXT_CONTENT_TYPE, b"method not allowed\n")


def kind_of(path: str) -> str | None:
    """Which endpoint a path names, by its last segment, wherever the app is mounted."""
    return _KINDS.get(path.rstrip("/").rsplit("/", 1)[-1])


@dataclass(frozen=True, slots=True)
class Query:
    verbose: bool = False
    fresh: bool = False
    exclude: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, query_string: str) -> Query:
        if not query_string:
            return _NO_QUERY
        q = parse_qs(query_string, keep_blank_values=True)
        exclude = frozenset(
            name.strip() for value in q.get("exclude", ()) for name in value.split(",")
            if name.strip()
        )
        return cls(_flag(q, "verbose"), _flag(q, "fresh"), exclude)


_NO_QUERY = Query()


def _flag(q: dict[str, list[str]], name: str) -> bool:
    values = q.get(name)
    return bool(values) and values[-1].strip().lower() not in _FALSE


class HealthEndpoints:
    """Answers health requests from a runner; the ASGI, WSGI and Django adapters share it."""

    def __init__(
        self,
        runner: Runner | None = None,
        *,
        service_id: str | None = None,
        version: str | None = None,
        description: str | None = None,
    ) -> None:
        self.runner = runner if runner is not None else default_runner()
        self.service_id = service_id
        self.version = version
        self.description = description
        self._cache: dict[tuple[str, Query], tuple[int, Response]] = {}

    def pending_run(self, kind: str, query: Query) -> concurrent.futures.Future | None:
        """A run to wait for before answering: a fresh one, or the first ever."""
        if kind == LIVE:
            return None
        runner = self.runner
        if not runner.started:
            runner.start()
        if query.fresh:
            return runner.refresh()
        if runner.missing():
            return runner.refresh(force=True)
        return None

    def handle(self, kind: str, query_string: str) -> Response:
        """Answer from synchronous code (WSGI, Django), waiting for a pending run if any."""
        query = Query.parse(query_string)
        future = self.pending_run(kind, query)
        if future is not None:
            future.result()
        return self.respond(kind, query)

    async def handle_async(self, kind: str, query_string: str) -> Response:
        """Answer from async code (ASGI) without blocking the event loop."""
        query = Query.parse(query_string)
        future = self.pending_run(kind, query)
        if future is not None:
            await asyncio.wrap_future(future)
        return self.respond(kind, query)

    def respond(self, kind: str, query: Query) -> Response:
        """The response from the latest results (cached until a result changes)."""
        key = (kind, query)
        generation = self.runner.generation
        cached = self._cache.get(key)
        if cached is not None and cached[0] == generation:
            return cached[1]
        response = self._render(kind, query)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = (generation, response)
        return response

    def _render(self, kind: str, query: Query) -> Response:
        if kind == LIVE:
            if query.verbose:
                return Response(200, report.TEXT_CONTENT_TYPE, b"[+]ping ok\nlive check passed\n")
            return Response(200, report.CONTENT_TYPE, b'{"status":"pass"}')
        latest = self.runner.latest()
        names = [c.name for c in self.runner.checks() if c.name not in query.exclude]
        results = [latest[n] for n in names if n in latest]
        if kind == READY:
            results = [r for r in results if r.critical]
        status = overall_status(results)
        code = 503 if status is Status.UNHEALTHY else 200
        if query.verbose:
            text = report.verbose_text(results, status, "readiness" if kind == READY else kind)
            return Response(code, report.TEXT_CONTENT_TYPE, text.encode())
        doc = report.health_document(
            results,
            status=status,
            service_id=self.service_id,
            version=self.version,
            description=self.description,
            pending=[n for n in names if n not in latest],
            histories=self.runner.histories(),
        )
        return Response(code, report.CONTENT_TYPE, report.dumps(doc))
