"""The endpoints mounted in real frameworks: Starlette, FastAPI, Flask and Django."""

import json
import sys
import types

import pytest

from watchkeeper.health import make_asgi_app, make_wsgi_app


def check_behaviour(get, board):
    """The contract every mounting must honour; ``get(path)`` -> (code, type, body)."""
    board.status["cache"] = "unhealthy"
    code, ctype, body = get("/health/?fresh=1")
    doc = json.loads(body)
    assert (code, ctype) == (200, "application/health+json")
    assert doc["status"] == "warn"
    assert doc["checks"]["cache"][0]["status"] == "fail"
    assert doc["checks"]["cache"][0]["output"] == "cache says unhealthy"

    code, _, body = get("/health/ready")
    assert code == 200 and json.loads(body)["status"] == "pass"  # cache is not critical
    assert "cache" not in json.loads(body)["checks"]

    code, ctype, body = get("/health/?verbose")
    assert code == 200 and ctype.startswith("text/plain")
    assert body.decode().splitlines() == [
        "[+]db ok", "[-]cache failed: cache says unhealthy", "health check degraded"]

    code, _, body = get("/health/?exclude=cache")
    assert json.loads(body)["status"] == "pass" and list(json.loads(body)["checks"]) == ["db"]

    board.status["db"] = "unhealthy"
    code, _, body = get("/health/?fresh=1")
    assert code == 503 and json.loads(body)["status"] == "fail"
    code, _, body = get("/health/ready?verbose=1")
    assert code == 503 and body.decode().endswith("readiness check failed\n")

    code, _, body = get("/health/live")
    assert code == 200 and json.loads(body) == {"status": "pass"}
    assert get("/health/nope")[0] == 404


def test_starlette_mount(runner, board):
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    app = Starlette(routes=[Mount("/health", make_asgi_app(runner))])
    with TestClient(app) as client:
        def get(path):
            r = client.get(path)
            return r.status_code, r.headers["content-type"], r.content
        check_behaviour(get, board)


def test_fastapi_mount_and_head(runner, board):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()

    @app.get("/")
    def index():
        return {"hello": "world"}

    app.mount("/health", make_asgi_app(runner, service_id="shop", version="2"))
    with TestClient(app) as client:
        def get(path):
            r = client.get(path)
            return r.status_code, r.headers["content-type"], r.content
        check_behaviour(get, board)
        assert client.get("/").json() == {"hello": "world"}
        head = client.head("/health/live")
        assert head.status_code == 200 and head.content == b""
        assert client.post("/health/").status_code == 405
        doc = client.get("/health/").json()
        assert doc["serviceId"] == "shop" and doc["version"] == "2"


def test_bare_asgi_app_answers_from_cache_without_rerunning(runner, board):
    from starlette.testclient import TestClient

    runner.fresh_interval = 3600
    with TestClient(make_asgi_app(runner)) as client:
        assert client.get("/health").status_code == 200
        runs = dict(board.runs)
        for _ in range(5):
            assert client.get("/health").status_code == 200
            assert client.get("/health?fresh=1").status_code == 200  # rate limited
        assert board.runs == runs


def test_flask_dispatcher(runner, board):
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    app = Flask(__name__)

    @app.get("/")
    def index():
        return "hello"

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/health": make_wsgi_app(runner)})
    client = app.test_client()

    def get(path):
        r = client.get(path)
        return r.status_code, r.headers["content-type"], r.data
    check_behaviour(get, board)
    assert client.get("/").data == b"hello"


@pytest.fixture
def django_client(runner):
    import django
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    from watchkeeper.health import health_urls

    if not settings.configured:
        settings.configure(
            DEBUG=False, SECRET_KEY="test", ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF="health_test_urls", INSTALLED_APPS=[], MIDDLEWARE=[],
        )
        django.setup()
    urls = types.ModuleType("health_test_urls")
    urls.urlpatterns = health_urls("health", runner)
    sys.modules["health_test_urls"] = urls
    with override_settings(ROOT_URLCONF="health_test_urls"):
        yield Client()
    del sys.modules["health_test_urls"]


def test_django_urls(django_client, board):
    def get(path):
        # Django routes "health" without a trailing slash
        path = path.replace("/health/?", "/health?").removesuffix("/") or path
        r = django_client.get(path)
        return r.status_code, r["Content-Type"], r.content
    check_behaviour(get, board)
