import pytest
from flask import Blueprint, Flask, Response
from flask.testing import FlaskClient
from werkzeug.test import Client

from watchkeeper.integrations.context import work_name
from watchkeeper.integrations.flask import HTTPMetrics
from watchkeeper.integrations.hooks import EXCEPTION_HOOKS
from watchkeeper.integrations.wsgi import WSGIMetricsMiddleware
from watchkeeper.metrics import CollectorRegistry

DUR = "http_server_request_duration_seconds_count"


def routes_of(reg):
    out = {}
    for fam in reg.collect():
        for s in fam.samples:
            if s.name == DUR:
                key = (s.labels["http_route"], s.labels["http_response_status_code"],
                       s.labels["error_type"])
                out[key] = out.get(key, 0) + s.value
    return out


class Boom(Exception):
    pass


def flask_app(reg, **kw):
    app = Flask(__name__)

    @app.get("/items/<int:item_id>")
    def item(item_id):
        return {"route": work_name()}

    @app.get("/boom")
    def boom():
        raise Boom("x")

    @app.get("/stream")
    def stream():
        return Response(iter([b"a", b"bc"]))

    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @shop.get("/orders/<oid>")
    def order(oid):
        return "o"

    app.register_blueprint(shop)
    HTTPMetrics(app, registry=reg, **kw)
    app.test_client_class = Buffered
    return app


class Buffered(FlaskClient):
    """Reads each response whole and closes it, as a WSGI server does."""

    def open(self, *args, **kwargs):
        kwargs["buffered"] = True
        return super().open(*args, **kwargs)


def test_flask_templates_blueprints_unmatched_and_errors():
    reg = CollectorRegistry()
    seen = []
    hook = lambda exc, work: seen.append((type(exc).__name__, work.name))  # noqa: E731
    EXCEPTION_HOOKS.append(hook)
    try:
        client = flask_app(reg).test_client()
        assert client.get("/items/3").json == {"route": "/items/<int:item_id>"}
        client.get("/items/4")
        client.get("/shop/orders/x1")
        for i in range(30):
            client.get(f"/probe/{i}")
        assert client.get("/boom").status_code == 500
        stream = client.get("/stream")
        assert stream.data == b"abc"
    finally:
        EXCEPTION_HOOKS.remove(hook)
    error = f"{Boom.__module__}.Boom"
    assert routes_of(reg) == {
        ("/items/<int:item_id>", "200", ""): 2, ("/shop/orders/<oid>", "200", ""): 1,
        ("_unmatched", "404", ""): 30, ("/boom", "500", error): 1, ("/stream", "200", ""): 1}
    assert seen == [("Boom", "/boom")]
    assert reg.get_sample_value("http_server_response_body_size_bytes_sum", {
        "http_request_method": "GET", "http_route": "/stream",
        "http_response_status_code": "200"}) == 3


def test_flask_propagated_exception_is_reraised_unchanged():
    reg = CollectorRegistry()
    app = flask_app(reg)
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(Boom):
        app.test_client().get("/boom")
    assert routes_of(reg) == {("/boom", "500", f"{Boom.__module__}.Boom"): 1}


def test_plain_wsgi_app_with_a_route_reader():
    reg = CollectorRegistry()

    def app(environ, start_response):
        environ["demo.route"] = "/hello/{name}" if environ["PATH_INFO"].startswith(
            "/hello/") else None
        start_response("200 OK" if environ["demo.route"] else "404 Not Found", [])
        return [b"hi"]

    wrapped = WSGIMetricsMiddleware(app, registry=reg,
                                    route=lambda environ: environ.get("demo.route"),
                                    exclude=["/metrics"])
    client = Client(wrapped)
    client.get("/hello/ann")
    client.get("/hello/bob")
    client.get("/other")
    client.get("/metrics")
    assert routes_of(reg) == {("/hello/{name}", "200", ""): 2, ("_unmatched", "404", ""): 1}
