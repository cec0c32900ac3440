"""The web middlewares under a real gunicorn (uvicorn workers for FastAPI, sync workers for
Flask) in multiprocess mode: a worker is replaced while serving, one scrape sums them all,
nothing the dead worker counted is lost, and errors count once per request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from peers import free_port
from watchkeeper.exposition.parse import parse

pytest.importorskip("gunicorn")

METRICS_VIEW = '''
def exposition():
    from watchkeeper import CollectorRegistry, generate_latest
    from watchkeeper.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)
'''

FASTAPI_APP = METRICS_VIEW + '''
import os
from fastapi import FastAPI
from fastapi.responses import Response
from watchkeeper.integrations.asgi import HTTPMetricsMiddleware

app = FastAPI()
app.add_middleware(HTTPMetricsMiddleware, exclude=["/metrics"])


@app.get("/metrics")
def metrics():
    return Response(exposition(), media_type="text/plain")


@app.get("/items/{item_id}")
async def item(item_id: int):
    return {"pid": os.getpid()}


@app.get("/boom")
async def boom():
    return 1 / 0
'''

FLASK_APP = METRICS_VIEW + '''
import os
from flask import Flask
from watchkeeper.integrations.flask import HTTPMetrics

app = Flask(__name__)
HTTPMetrics(app, exclude=["/metrics"])


@app.get("/metrics")
def metrics():
    return exposition(), 200, {"Content-Type": "text/plain"}


@app.get("/items/<int:item_id>")
def item(item_id):
    return {"pid": os.getpid()}


@app.get("/boom")
def boom():
    return 1 / 0
'''

CONF = '''
from watchkeeper.multiprocess import mark_process_dead


def child_exit(server, worker):
    mark_process_dead(worker.pid)
'''


def serve_and_scrape(tmp_path: Path, source: str, worker: str
                     ) -> tuple[dict[tuple[str, tuple], float], set[int], int]:
    """Run ``source`` under gunicorn (2 workers forked from a preloaded app), send item
    requests, stop the worker that answered first, send more until its replacement has
    answered, then two failing ones; the scrape's samples, the pids and how many items
    were asked."""
    mpdir = tmp_path / "mp"
    mpdir.mkdir()
    (tmp_path / "webapp.py").write_text(source)
    (tmp_path / "conf.py").write_text(CONF)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("MULTIPROC_DIR")}
    env.update(PROMETHEUS_MULTIPROC_DIR=str(mpdir), PYTHONWARNINGS="ignore::DeprecationWarning",
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(tmp_path), "-c",
         str(tmp_path / "conf.py"), "-w", "2", "-k", worker, "--preload",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "webapp:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    pids: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=10) as http:
            while True:
                try:
                    http.get(base + "/metrics")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read().decode()
                    assert time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.1)
            sent = 0

            def ask() -> int:
                nonlocal sent
                answer = http.get(f"{base}/items/{sent}")
                sent += 1
                assert answer.status_code == 200
                return answer.json()["pid"]

            for _ in range(10):
                pids.add(ask())
            workers = {p.pid for p in psutil.Process(server.pid).children()}
            os.kill(min(pids), signal.SIGTERM)  # gunicorn starts a new worker in its place
            while not pids - workers:
                time.sleep(0.05)
                pids.add(ask())
                assert sent < 500, "no new worker answered"
            for _ in range(2):
                assert http.get(f"{base}/boom").status_code == 500
            # A WSGI request ends when the server closes its body, after the client
            # has the answer: a scrape on the other worker may come first, so wait.
            settle = time.monotonic() + 5
            while True:
                text = http.get(base + "/metrics").text
                if _count(text, "/boom") >= 2 or time.monotonic() > settle:
                    break
                time.sleep(0.05)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in parse(text, "text/plain") for s in family.samples}
    return samples, pids, sent


def _count(text: str, route: str) -> float:
    return sum(s.value for family in parse(text, "text/plain") for s in family.samples
               if s.name == "http_server_request_duration_seconds_count"
               and s.labels.get("http_route") == route)


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.mark.parametrize("source, worker, route", [
    (FASTAPI_APP, "uvicorn.workers.UvicornWorker", "/items/{item_id}"),
    (FLASK_APP, "sync", "/items/<int:item_id>"),
], ids=["fastapi-uvicorn-workers", "flask-sync-workers"])
def test_one_scrape_sums_every_worker_that_ever_served(tmp_path, source, worker, route):
    samples, pids, sent = serve_and_scrape(tmp_path, source, worker)
    assert len(pids) >= 2  # the first workers, then the replacement of one of them
    ok = {"http_request_method": "GET", "http_route": route,
          "http_response_status_code": "200", "url_scheme": "http", "error_type": ""}
    assert value(samples, "http_server_request_duration_seconds_count", **ok) == sent
    failed = {**ok, "http_route": "/boom", "http_response_status_code": "500",
              "error_type": "ZeroDivisionError"}
    assert value(samples, "http_server_request_duration_seconds_count", **failed) == 2
    errors = {name: v for (name, labels), v in samples.items()
              if name == "errors_total" and ("http_route", "/boom") in labels}
    assert sum(errors.values()) == 2  # captured once each, in whichever worker
    active = [v for (name, labels), v in samples.items()
              if name == "http_server_active_requests" and ("http_route", route) in labels]
    assert sum(active) == 0  # nothing is running when the scrape is served
