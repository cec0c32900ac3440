"""Unhandled exceptions of a real FastAPI app behind HTTPMetricsMiddleware are captured
once, in their group, with the route template; requests that raise nothing add nothing."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from watchkeeper.integrations.asgi import HTTPMetricsMiddleware
from watchkeeper.integrations.errors import CAPTURE, ErrorHandler, on_unhandled
from watchkeeper.integrations.hooks import EXCEPTION_HOOKS
from watchkeeper.metrics import CollectorRegistry


class PaymentError(Exception):
    pass


def charge(order_id: int) -> None:
    raise PaymentError(f"card declined for order {order_id}")


@pytest.fixture
def app():
    CAPTURE.reset()
    api = FastAPI()
    api.add_middleware(HTTPMetricsMiddleware, registry=CollectorRegistry())

    @api.get("/orders/{order_id}/pay")
    def pay(order_id: int):
        try:
            charge(order_id)
        except PaymentError:
            logging.getLogger("shop").exception("payment failed")
            raise

    @api.get("/ok")
    def ok():
        return {"ok": True}

    yield api
    CAPTURE.reset()


def test_an_unhandled_exception_is_captured_once_with_its_route(app) -> None:
    assert on_unhandled in EXCEPTION_HOOKS
    handler = ErrorHandler()
    logging.getLogger("shop").addHandler(handler)  # the same exception logged too
    try:
        client = TestClient(app, raise_server_exceptions=False)
        for order in (1, 2, 3):
            assert client.get(f"/orders/{order}/pay").status_code == 500
        for _ in range(5):
            assert client.get("/ok").status_code == 200
    finally:
        logging.getLogger("shop").removeHandler(handler)
    (key,), (count,) = zip(*CAPTURE.counts.items(), strict=True)
    _, etype, route = key
    assert (etype, route, count) == (f"{__name__}.PaymentError", "/orders/{order_id}/pay", 3)


def test_the_exception_reaches_the_caller_unchanged(app) -> None:
    with pytest.raises(PaymentError, match="order 7"):
        TestClient(app).get("/orders/7/pay")


def test_a_flask_view_that_raises_is_captured_with_its_rule() -> None:
    from flask import Flask

    from watchkeeper.integrations.flask import HTTPMetrics

    CAPTURE.reset()
    app = Flask(__name__)
    HTTPMetrics(app, registry=CollectorRegistry())

    @app.get("/invoices/<int:number>")
    def invoice(number: int):
        charge(number)

    client = app.test_client()
    for number in (4, 5):
        assert client.get(f"/invoices/{number}").status_code == 500
    try:
        assert {(t, r): n for (_, t, r), n in CAPTURE.counts.items()} == {
            (f"{__name__}.PaymentError", "/invoices/<int:number>"): 2}
    finally:
        CAPTURE.reset()


def test_a_bare_wsgi_app_that_raises_is_captured_and_re_raised() -> None:
    from watchkeeper.integrations.context import working
    from watchkeeper.integrations.wsgi import WSGIMetricsMiddleware

    CAPTURE.reset()

    def wsgi_app(environ, start_response):
        charge(9)

    app = WSGIMetricsMiddleware(wsgi_app, registry=CollectorRegistry(),
                                route=lambda environ: "/legacy/pay")
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/legacy/pay", "wsgi.url_scheme": "http",
               "SERVER_NAME": "t", "SERVER_PORT": "80"}
    try:
        with working("job", "outer"), pytest.raises(PaymentError):
            app(environ, lambda *a: None)
        ((key, count),) = CAPTURE.counts.items()
        assert (key[1:], count) == ((f"{__name__}.PaymentError", "/legacy/pay"), 1)
    finally:
        CAPTURE.reset()


def test_a_django_view_that_raises_is_captured_with_its_route() -> None:
    import sys
    import types

    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, SECRET_KEY="test", ALLOWED_HOSTS=["testserver"],
                           ROOT_URLCONF="errors_test_urls", INSTALLED_APPS=[], MIDDLEWARE=[])
        django.setup()
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import path

    def refund(request, pk):
        charge(pk)

    urls = types.ModuleType("errors_test_urls")
    urls.urlpatterns = [path("refunds/<int:pk>/", refund)]
    sys.modules["errors_test_urls"] = urls
    CAPTURE.reset()
    try:
        with override_settings(
                ROOT_URLCONF="errors_test_urls",
                MIDDLEWARE=["watchkeeper.integrations.django.HTTPMetricsMiddleware"],
                WATCHKEEPER_HTTP_METRICS={"registry": CollectorRegistry()}):
            client = Client(raise_request_exception=False)
            assert client.get("/refunds/3/").status_code == 500
        ((key, count),) = CAPTURE.counts.items()
        assert (key[1:], count) == ((f"{__name__}.PaymentError", "/refunds/<int:pk>/"), 1)
    finally:
        CAPTURE.reset()
        del sys.modules["errors_test_urls"]
