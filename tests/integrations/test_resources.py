"""/health/performance and /metrics/* mounted in a user's ASGI, WSGI or Django app."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.exposition.parse import text_string_to_metric_families
from watchkeeper.integrations.breaker import CircuitBreaker
from watchkeeper.integrations.cache import cached
from watchkeeper.integrations.resources import local_samples, performance
from watchkeeper.integrations.resources_apps import (
    performance_check,
    resources_asgi_app,
    resources_wsgi_app,
)

BREAKER = "r" + uuid.uuid4().hex[:8]
CACHE = "r" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module", autouse=True)
def monitors() -> None:
    b = CircuitBreaker(BREAKER, failure_threshold=1, window=None)
    with pytest.raises(ConnectionError):
        b.call(lambda: (_ for _ in ()).throw(ConnectionError()))

    @cached(name=CACHE, maxsize=4)
    def f(x: int) -> int:
        return x

    for x in (1, 1, 1, 2):
        f(x)


def _asgi(path: str, accept: str = "", method: str = "GET", app=None
          ) -> tuple[int, dict, bytes]:
    app = app or resources_asgi_app()
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request"}

    scope = {"type": "http", "method": method, "path": path,
             "headers": [(b"accept", accept.encode())] if accept else []}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


def test_breaker_and_cache_summaries_as_json() -> None:
    status, headers, body = _asgi("/ops/metrics/circuit-breaker")
    assert status == 200 and headers[b"content-type"] == b"application/json"
    row = next(r for r in json.loads(body)["breakers"] if r["name"] == BREAKER)
    assert row["state"] == "open" and row["calls"]["failure"] == 1
    assert row["score"] <= 30 and row["worst"] == "state"
    status, _, body = _asgi("/metrics/cache")
    row = next(r for r in json.loads(body)["caches"] if r["name"] == CACHE)
    assert row["tiers"]["l1"]["hit"] == 2 and row["hit_ratio"] == 0.5


def test_performance_names_the_worst_component() -> None:
    status, _, body = _asgi("/health/performance")
    got = json.loads(body)
    assert status in (200, 503)
    mine = {(c["component"], c["name"]): c for c in got["components"]}
    assert mine[("breaker", BREAKER)]["worst"] == "state"
    assert got["score"] <= 0.5 * 100 + 0.5 * mine[("breaker", BREAKER)]["score"]
    assert got["worst"]["score"] <= 30


def test_the_mounted_apps_take_their_thresholds() -> None:
    # the open breaker scores <= 30, so the overall score is below 100 and above 0
    strict, lax = (dict(degraded_below=100, unhealthy_below=100),
                   dict(degraded_below=0, unhealthy_below=0))
    status, _, body = _asgi("/health/performance", app=resources_asgi_app(**strict))
    assert status == 503 and json.loads(body)["status"] == "unhealthy"
    status, _, body = _asgi("/health/performance", app=resources_asgi_app(**lax))
    assert status == 200 and json.loads(body)["status"] == "healthy"
    seen: list = []
    resources_wsgi_app(**strict)({"REQUEST_METHOD": "GET", "PATH_INFO": "/health/performance"},
                                 lambda s, h: seen.append(s))
    assert seen == ["503 Service Unavailable"]


def test_prometheus_text_when_asked() -> None:
    _, headers, body = _asgi("/metrics/circuit-breaker", accept="text/plain")
    assert headers[b"content-type"].startswith(b"text/plain")
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    assert {"circuit_breaker_state", "circuit_breaker_calls"} <= names or \
        {"circuit_breaker_state", "circuit_breaker_calls_total"} <= names


def test_wsgi_app_and_unknown_paths() -> None:
    app = resources_wsgi_app()
    seen: list = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics/database",
                         "SCRIPT_NAME": ""}, lambda s, h: seen.append((s, h))))
    assert seen[0][0] == "200 OK" and "pools" in json.loads(body)
    app({"REQUEST_METHOD": "GET", "PATH_INFO": "/nope"}, lambda s, h: seen.append((s, h)))
    assert seen[1][0] == "404 Not Found"
    assert _asgi("/metrics/cache", method="POST")[0] == 405


def test_django_urls() -> None:
    import django
    from django.conf import settings as dj

    if not dj.configured:
        dj.configure(CACHES={})
        django.setup()
    from django.test import RequestFactory

    from watchkeeper.integrations.resources_apps import django_urls, django_view

    assert len(django_urls("ops/")) == 4
    response = django_view(RequestFactory().get("/ops/metrics/cache"))
    assert response.status_code == 200 and "caches" in json.loads(response.content)


def test_performance_check_feeds_readiness() -> None:
    outcome = performance_check(degraded_below=101).check()
    assert outcome.status in ("degraded", "unhealthy")
    assert performance(local_samples(), 0, 0)["status"] == "healthy"


@settings(max_examples=100, deadline=None)
@given(path=st.text(max_size=40), accept=st.text(max_size=40),
       method=st.sampled_from(["GET", "HEAD", "POST", "DELETE"]))
def test_any_request_gets_a_clean_answer(path: str, accept: str, method: str) -> None:
    status, _, _ = _asgi("/" + path, accept.encode("ascii", "ignore").decode(), method)
    assert status in (200, 404, 405, 503)
