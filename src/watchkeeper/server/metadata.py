"""``/api/v1/metadata`` and ``/api/v1/targets/metadata`` as Prometheus 2.42 answers them.

Metadata (type, help, unit per metric) comes from each scraped target's latest good scrape,
from the server's own registry (the ``watchkeeper`` job) and from remote-write metadata.
Grafana reads it for the query editor's hints and metric types.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from watchkeeper.scrape.scraper import Entry, families_metadata

from .routes_status import bad_data

MAX_PUSHED = 50_000  # distinct pushed metric names kept (remote write is unbounded)


class MetadataBook:
    """Metadata of the server's own registry and of remote-write pushes."""

    def __init__(self) -> None:
        self.own: dict[str, Entry] = {}
        self.pushed: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def push(self, items: Iterable[tuple[str, str, str, str]]) -> None:
        with self._lock:
            for name, typ, help_text, unit in items:
                if name in self.pushed or len(self.pushed) < MAX_PUSHED:
                    self.pushed[name] = (typ, help_text, unit)

    def collected(self, families: Iterable[Any]) -> None:
        """Remember the registry's families (named as the text format names them)."""
        self.own = dict(families_metadata(families, openmetrics=False))


def _sources(service: Any) -> list[tuple[dict[str, str], dict[str, Entry]]]:
    """(target labels, metadata) of every scraped target, then the server itself."""
    out: list[tuple[dict[str, str], dict[str, Entry]]] = []
    scraper = service.scraper
    if scraper is not None:
        for _key, state in sorted(scraper.states.items()):
            out.append((dict(sorted(state.target.labels.items())),
                        getattr(state, "metadata", {})))
    book: MetadataBook = service.metadata
    out.append(({"instance": service.instance, "job": "watchkeeper"}, book.own))
    return out


def all_metadata(service: Any) -> list[tuple[str, str, str, str]]:
    """(name, type, help, unit) of every family known, first source winning (what remote
    write's metadata requests carry)."""
    found: dict[str, tuple[str, str, str, str]] = {}
    for meta in [m for _labels, m in _sources(service)] + [dict(service.metadata.pushed)]:
        for name, (typ, help_text, unit) in list(meta.items()):
            found.setdefault(name, (name, typ, help_text, unit))
    return list(found.values())


def _int(request: Request, name: str) -> int:
    text = request.query_params.get(name, "")
    if not text:
        return -1
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None


def _entry(e: Entry) -> dict[str, str]:
    return {"type": e[0], "help": e[1], "unit": e[2]}


def metadata_document(service: Any, metric: str, limit: int, per_metric: int
                      ) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[Entry]] = {}
    sources = [meta for _labels, meta in _sources(service)] + [service.metadata.pushed]
    for meta in sources:
        items = meta.items() if not metric else (
            [(metric, meta[metric])] if metric in meta else [])
        for name, entry in items:
            known = found.setdefault(name, [])
            if entry in known or (per_metric > 0 and len(known) >= per_metric):
                continue
            known.append(entry)
    names = sorted(found)
    if limit >= 0:
        names = names[:limit]
    return {name: [_entry(e) for e in found[name]] for name in names}


def targets_metadata_document(service: Any, metric: str, limit: int,
                              match: list[Any] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for labels, meta in _sources(service):
        if limit >= 0 and len(out) >= limit:
            break
        if match and not all(m.matches(labels.get(m.name, "")) for m in match):
            continue
        if not metric:
            out.extend({"target": labels, "metric": name, **_entry(e)}
                       for name, e in sorted(meta.items()))
        elif metric in meta:
            out.append({"target": labels, **_entry(meta[metric])})
    return out


def _selector(text: str) -> list[Any]:
    from watchkeeper.promql import ast
    from watchkeeper.promql.parser import parse

    expr = parse(text)
    if not isinstance(expr, ast.VectorSelector):
        raise ValueError("expected a series selector")
    return list(expr.matchers)


def make_routes(service: Any) -> dict[str, Any]:
    async def metadata(request: Request) -> JSONResponse:
        try:
            limit, per_metric = _int(request, "limit"), _int(request, "limit_per_metric")
        except ValueError as e:
            return bad_data(str(e))
        data = metadata_document(service, request.query_params.get("metric", ""), limit,
                                 per_metric)
        return JSONResponse({"status": "success", "data": data})

    async def targets_metadata(request: Request) -> JSONResponse:
        try:
            limit = _int(request, "limit")
        except ValueError as e:
            return bad_data(str(e))
        match = None
        text = request.query_params.get("match_target", "")
        if text:
            try:
                match = _selector(text)
            except Exception as e:  # any parse problem is the caller's
                return bad_data(f'invalid parameter "match_target": {e}')
        data = targets_metadata_document(service, request.query_params.get("metric", ""),
                                         limit, match)
        return JSONResponse({"status": "success", "data": data})

    return {"metadata": metadata, "targets_metadata": targets_metadata}
