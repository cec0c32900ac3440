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
