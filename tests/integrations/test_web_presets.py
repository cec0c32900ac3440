"""Each preset against the real library on the same app and requests: same sample names,
label names and (for template-labelled apps) label values."""

import asyncio

import httpx
import prometheus_client
import pytest
from fastapi import FastAPI

from watchkeeper.integrations.asgi import HTTPMetricsMiddleware
from watchkeeper.metrics import CollectorRegistry

PATHS = ["/items/1", "/items/2", "/nope", "/boom", "/items/x"]
SKIP = ("python_", "process_", "watchkeeper_")


def shape(registry):
    """{sample name: {label names + values except le/quantile}} without _created."""
    out = {}
    for fam in registry.collect():
        for s in fam.samples:
            if s.name.startswith(SKIP) or s.name.endswith("_created"):
                continue
            labels = tuple(sorted((k, v) for k, v in s.labels.items()
                                  if k not in ("le", "quantile")))
            out.setdefault(s.name, set()).add(labels)
    return out


def make_app():
    app = FastAPI()

    @app.get("/items/{i}")
    def item(i: int):
        return {"i": i}

    @app.get("/boom")
    def boom():
        raise ValueError("boom")

    return app


def hit(app):
    async def go():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for p in PATHS:
                await client.get(p)
    asyncio.run(go())


def ours(preset):
    reg = CollectorRegistry()
    app = make_app()
    app.add_middleware(HTTPMetricsMiddleware, registry=reg, preset=preset)
    hit(app)
    return shape(reg)


def test_pfi_preset_matches_prometheus_fastapi_instrumentator():
    from prometheus_fastapi_instrumentator import Instrumentator

    reg = prometheus_client.CollectorRegistry()
    app = make_app()
    Instrumentator(registry=reg).instrument(app)
    hit(app)
    assert ours("pfi") == shape(reg)


@pytest.fixture
def clean_default_registry():
    before = set(prometheus_client.REGISTRY._collector_to_names)
    yield
    for collector in set(prometheus_client.REGISTRY._collector_to_names) - before:
        prometheus_client.REGISTRY.unregister(collector)


def test_starlette_exporter_preset_matches(clean_default_registry):
    from starlette_exporter import PrometheusMiddleware

    app = make_app()
    app.add_middleware(PrometheusMiddleware)
    hit(app)
    theirs = {k: v for k, v in shape(prometheus_client.REGISTRY).items()
              if k.startswith("starlette_")}
    assert ours("starlette_exporter") == theirs


class Boom(Exception):
    pass


def flask_app(reg=None, **kw):
    from flask import Flask

    from watchkeeper.integrations.flask import HTTPMetrics

    app = Flask("app")

    @app.get("/items/<int:item_id>")
    def item(item_id):
        return "i"

    @app.get("/boom")
    def boom():
        raise Boom("x")

    if reg is not None:
        HTTPMetrics(app, registry=reg, **kw)
    return app


def test_flask_preset_matches_prometheus_flask_exporter():
    import prometheus_client
    from prometheus_flask_exporter import PrometheusMetrics

    reg = prometheus_client.CollectorRegistry()
    app = flask_app()
    PrometheusMetrics(app, registry=reg)  # labels raw paths (group_by="path")
    client = app.test_client()
    for path in ("/items/1", "/items/2", "/boom"):
        client.get(path)
    theirs = {k: v for k, v in shape(reg).items() if not k.startswith("flask_exporter_info")}
    ours_reg = CollectorRegistry()
    client = flask_app(ours_reg, preset="flask").test_client()
    for path in ("/items/1", "/items/2", "/boom"):
        client.get(path, buffered=True)  # read whole and closed, as a server does
    def names(shape):
        return {k: {tuple(n for n, _ in labels) for labels in v} for k, v in shape.items()}
    assert names(shape(ours_reg)) == names(theirs)
    paths = {dict(labels).get("path") for labels in shape(ours_reg)[
        "flask_http_request_duration_seconds_count"]}
    assert paths == {"/items/<int:item_id>", "/boom"}
