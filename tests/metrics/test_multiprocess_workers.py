"""End to end: real worker processes using the public metric types, one scrape sees all."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from multiproc import scrape
from peers import free_port
from watchkeeper import Counter, Gauge, Histogram, Summary
from watchkeeper.exposition import generate_latest
from watchkeeper.exposition.parse import text_string_to_metric_families
from watchkeeper.metrics.family import GaugeMetricFamily
from watchkeeper.metrics.multiprocess import mark_process_dead
from watchkeeper.metrics.multiprocess.collector import DAMAGED_FILES_METRIC

FORK = multiprocessing.get_context("fork")


def run_workers(target, count: int) -> list[int]:
    procs = [FORK.Process(target=target, args=(n,)) for n in range(count)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return [p.pid for p in procs]


def test_preforked_workers_share_metrics_defined_before_the_fork(mpdir):
    """As with gunicorn --preload: metrics built in the master, used in the workers."""
    requests = Counter("http_requests", "Requests.", ["method"], registry=None)
    latency = Histogram("http_latency_seconds", "Latency.", buckets=[0.1, 1], registry=None)
    sizes = Summary("http_body_bytes", "Body sizes.", registry=None)
    busy = Gauge("http_busy_workers", "Busy.", multiprocess_mode="livesum", registry=None)
    peak = Gauge("http_peak_inflight", "Peak.", multiprocess_mode="max", registry=None)
    requests.labels("GET")  # created in the master, before any worker exists
    ready = FORK.Semaphore(0)
    release = FORK.Event()

    def worker(n: int) -> None:
        busy.inc()
        peak.set(n)
        for i in range(250):
            requests.labels("GET").inc()
            latency.observe(0.05 if i % 2 else 0.5)
            sizes.observe(10)
        ready.release()
        release.wait(60)  # stay alive until the master has scraped

    procs = [FORK.Process(target=worker, args=(n,)) for n in range(4)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            assert ready.acquire(timeout=60)
        r = scrape(mpdir)  # compacts exited workers: none have exited
        assert r.get_sample_value("http_requests_total", {"method": "GET"}) == 1000
        assert r.get_sample_value("http_latency_seconds_bucket", {"le": "0.1"}) == 500
        assert r.get_sample_value("http_latency_seconds_bucket", {"le": "+Inf"}) == 1000
        assert r.get_sample_value("http_latency_seconds_count") == 1000
        assert r.get_sample_value("http_latency_seconds_sum") == pytest.approx(275)
        assert r.get_sample_value("http_body_bytes_count") == 1000
        assert r.get_sample_value("http_body_bytes_sum") == 10_000
        assert r.get_sample_value("http_busy_workers") == 4
        assert r.get_sample_value("http_peak_inflight") == 3
    finally:
        release.set()
        for p in procs:
            p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    # The workers are gone and nobody called mark_process_dead: the scrape compacts them.
    r = scrape(mpdir)
    assert r.get_sample_value("http_requests_total", {"method": "GET"}) == 1000
    assert r.get_sample_value("http_latency_seconds_count") == 1000
    assert r.get_sample_value("http_busy_workers") == 0  # only the master's own 0 is left
    assert r.get_sample_value("http_peak_inflight") == 3
    assert all(f"_{p.pid}.wkm" not in n for p in procs for n in os.listdir(mpdir))
    for p in procs:  # what gunicorn's child_exit hook would still do: harmless now
        mark_process_dead(p.pid)
    assert scrape(mpdir).get_sample_value("http_requests_total",
                                                   {"method": "GET"}) == 1000


def test_worker_killed_mid_run_keeps_what_it_counted(mpdir):
    def worker(_n: int) -> None:
        jobs = Counter("jobs", "Jobs.", registry=None)
        for _ in range(50_000_000):
            jobs.inc()

    proc = FORK.Process(target=worker, args=(0,))
    proc.start()
    registry = scrape(mpdir)
    deadline = time.monotonic() + 60
    try:
        while (registry.get_sample_value("jobs_total") or 0) < 10_000:
            assert time.monotonic() < deadline, "worker never got going"
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    counted = registry.get_sample_value("jobs_total")
    assert counted >= 10_000
    assert registry.get_sample_value(DAMAGED_FILES_METRIC) == 0
    mark_process_dead(proc.pid)
    assert scrape(mpdir).get_sample_value("jobs_total") == counted
    assert not [n for n in os.listdir(mpdir) if n.endswith(f"_{proc.pid}.wkm")]


def test_hundred_dead_workers_compact_to_one_file(mpdir):
    def worker(n: int) -> None:
        done = Counter("tasks", "Tasks.", ["queue"], registry=None)
        took = Histogram("task_seconds", "Task time.", registry=None)
        for q in ("mail", "sms", "push"):
            done.labels(q).inc(n)
        took.observe(0.3)

    pids = run_workers(worker, 100)
    for pid in pids:
        mark_process_dead(pid)
    assert sorted(n for n in os.listdir(mpdir) if n.endswith(".wkm")) == []
    r = scrape(mpdir)
    for q in ("mail", "sms", "push"):
        assert r.get_sample_value("tasks_total", {"queue": q}) == sum(range(100))
    assert r.get_sample_value("task_seconds_count") == 100
    assert r.get_sample_value("task_seconds_bucket", {"le": "0.25"}) == 0
    assert r.get_sample_value("task_seconds_bucket", {"le": "0.5"}) == 100


def test_custom_collector_alongside_renders_and_parses(mpdir):
    class Pool:
        def collect(self):
            yield GaugeMetricFamily("db_pool_size", "Connections in the pool.", value=8)

    def worker(_n: int) -> None:
        Counter("logins", "Logins.", registry=None).inc(3)

    run_workers(worker, 2)
    registry = scrape(mpdir)
    registry.register(Pool())
    families = {f.name: f for f in text_string_to_metric_families(
        generate_latest(registry).decode())}
    assert families["logins"].samples[0].value == 6
    assert families["db_pool_size"].samples[0].value == 8


APP = '''
import os
from watchkeeper import CollectorRegistry, Counter
from watchkeeper.exposition import generate_latest
from watchkeeper.metrics.multiprocess import MultiProcessCollector

HITS = Counter("app_hits", "Requests served.", ["path"], registry=None)


async def app(scope, receive, send):
    if scope["path"] == "/metrics":
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        HITS.labels(scope["path"]).inc()
        body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
'''


def test_uvicorn_with_two_workers_reports_every_request(mpdir, tmp_path_factory):
    app_dir = tmp_path_factory.mktemp("app")
    (app_dir / "mpapp.py").write_text(textwrap.dedent(APP))
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(mpdir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "mpapp:app", "--app-dir", str(app_dir), "--host",
         "127.0.0.1", "--port", str(port), "--workers", "2", "--lifespan", "off",
         "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=10) as http:
            while True:
                try:
                    http.get(base + "/metrics")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read().decode()
                    assert time.monotonic() < deadline, "uvicorn did not start"
                    time.sleep(0.1)
            for i in range(60):
                assert http.get(f"{base}/page{i % 3}").status_code == 200
            text = http.get(base + "/metrics").text
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)
    hits = {
        s.labels["path"]: s.value
        for f in text_string_to_metric_families(text) if f.name == "app_hits"
        for s in f.samples
    }
    assert hits == {"/page0": 20, "/page1": 20, "/page2": 20}


WSGI_APP = '''
import os
from watchkeeper import CollectorRegistry, Counter
from watchkeeper.exposition import generate_latest
from watchkeeper.metrics.multiprocess import MultiProcessCollector

HITS = Counter("app_hits", "Requests served.", registry=None)


def app(environ, start_response):
    if environ["PATH_INFO"] == "/metrics":
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        HITS.inc()
        body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
'''

GUNICORN_CONF = '''
from watchkeeper.multiprocess import mark_process_dead


def child_exit(server, worker):
    mark_process_dead(worker.pid)
'''


def test_gunicorn_recycling_workers_loses_no_request(mpdir, tmp_path_factory):
    """Workers restart every few requests (max_requests); their counts survive them."""
    pytest.importorskip("gunicorn")
    app_dir = tmp_path_factory.mktemp("wsgi")
    (app_dir / "mpwsgi.py").write_text(WSGI_APP)
    (app_dir / "gunicorn_conf.py").write_text(GUNICORN_CONF)
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(mpdir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(app_dir), "-c",
         str(app_dir / "gunicorn_conf.py"), "-w", "2", "--max-requests", "5",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "mpwsgi:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    pids = set()
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=10) as http:
            while True:
                try:
                    http.get(base + "/ping")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read().decode()
                    assert time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.1)
            for _ in range(40):
                pids.add(http.get(base + "/ping").text)
            text = http.get(base + "/metrics").text
            # while serving: dead workers live on only in the aggregate
            file_pids = {n.rsplit("_", 1)[1] for n in os.listdir(mpdir) if n.endswith(".wkm")}
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)
    assert len(pids) > 4  # workers were recycled
    assert (mpdir / "aggregate.wka").exists()
    assert len(file_pids) <= 4  # the live workers, and perhaps one on its way out
    hits = [s.value for f in text_string_to_metric_families(text) if f.name == "app_hits"
            for s in f.samples]
    assert hits == [41]  # the first /ping that waited for startup counts too
