"""Pre-fork workers (gunicorn, uvicorn --workers): each worker's middleware writes to the
multiprocess directory and one scrape sums them."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from multiproc import run_in_child, scrape
from watchkeeper.metrics.multiprocess import values


@pytest.fixture
def mpdir(tmp_path, monkeypatch):
    for var in values.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return tmp_path


def worker() -> None:
    from watchkeeper.integrations.asgi import HTTPMetricsMiddleware

    app = FastAPI()
    app.add_middleware(HTTPMetricsMiddleware, registry=None)

    @app.get("/items/{item_id}")
    async def item(item_id: int):
        return item_id

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for i in range(3):
                await client.get(f"/items/{i}")
    asyncio.run(go())


def test_workers_add_into_one_series(mpdir):
    run_in_child(worker)
    run_in_child(worker)
    registry = scrape(mpdir)
    assert registry.get_sample_value("http_server_request_duration_seconds_count", {
        "http_request_method": "GET", "http_route": "/items/{item_id}",
        "http_response_status_code": "200", "url_scheme": "http", "error_type": ""}) == 6
    assert registry.get_sample_value("http_server_active_requests", {
        "http_request_method": "GET", "http_route": "/items/{item_id}"}) in (None, 0)
