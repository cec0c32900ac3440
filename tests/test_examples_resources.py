"""The instrumented example app scraped by a real ``watchkeeper serve``: the resource
endpoints and the Resources dashboard answer from what was scraped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.peers import free_port, require_service

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def app_url():
    require_service("postgres")
    host, rport = require_service("redis")
    import redis

    client = redis.Redis(host=host, port=rport)
    client.delete(*(f"products:product:{i}" for i in range(5)))  # a cold cache each run
    client.close()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "examples.resources_app:app",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level",
                             "warning"], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/metrics", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        for i in range(20):
            assert httpx.get(f"{url}/products/{i % 5}", timeout=10).status_code == 200
            httpx.get(f"{url}/quote", timeout=10)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_app_answers_its_own_resource_endpoints(app_url: str) -> None:
    pools = httpx.get(app_url + "/metrics/database").json()["pools"]
    assert [p["name"] for p in pools] == ["main"] and pools[0]["operations"]["SELECT"] >= 5
    caches = {c["name"]: c for c in httpx.get(app_url + "/metrics/cache").json()["caches"]}
    assert caches["products"]["tiers"]["l1"]["hit"] >= 10
    text = httpx.get(app_url + "/metrics/cache", headers={"Accept": "text/plain"}).text
    assert 'cache_requests_total{cache="products"' in text
    exposition = httpx.get(app_url + "/metrics").text
    # the web middleware's route reaches the pool's hold time
    assert ('db_client_connection_hold_seconds_count{pool_name="main",'
            'work="/products/{product_id}"}') in exposition
    assert "http_server_request_duration_seconds_bucket{" in exposition


def test_serve_scrapes_it_and_answers_endpoints_and_dashboard(app_url: str, tmp_path) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "server"))
    from serve_process import ServeProcess

    target = app_url.removeprefix("http://")
    config = {"collect_host": False,
              "scrape_configs": [{"job_name": "shop", "scrape_interval": "1s",
                                  "static_configs": [{"targets": [target]}]}]}
    with ServeProcess(tmp_path, config) as serve:
        def scraped() -> dict | None:
            body = serve.client.get("/metrics/circuit-breaker").json()
            return body if body["breakers"] else None

        breakers = serve.wait_until(scraped, 30, "the app's breaker scraped")["breakers"]
        assert breakers[0]["name"] == "pricing" and breakers[0]["job"] == "shop"
        pools = serve.client.get("/metrics/database").json()["pools"]
        assert pools[0]["name"] == "main" and pools[0]["max"] == 10
        caches = serve.client.get("/metrics/cache").json()["caches"]
        assert caches[0]["name"] == "products" and caches[0]["tiers"]["l1"]["hit"] >= 10
        perf = serve.client.get("/health/performance").json()
        assert {c["component"] for c in perf["components"]} >= {"pool", "cache", "breaker"}
        assert 0 <= perf["score"] <= 100
        text = serve.client.get("/metrics/database", headers={"Accept": "text/plain"}).text
        assert "db_client_connection_max{" in text

        def panels_drawn() -> dict | None:
            end = int(time.time()) + 1
            board = serve.client.get("/dashboards/resources/query",
                                     params={"start": end - 120, "end": end, "step": 1}).json()
            drawn = [p for p in board["data"]
                     if p["status"] == "success" and p["data"]["result"]]
            # the pool, cache (rates need two scrapes), breaker and score panels
            return board if len(drawn) >= 8 else None

        board = serve.wait_until(panels_drawn, 30, "the resources panels drawn")
        assert board["status"] == "success" and len(board["data"]) >= 11
        assert all(p["status"] == "success" for p in board["data"])
