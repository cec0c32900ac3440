"""What a service gets from ``from watchkeeper import health``: cheap import, defaults."""

import json
import subprocess
import sys
import textwrap
import time

from watchkeeper.health import Runner, Status, function_check

HEAVY = ["numpy", "yaml", "httpx", "starlette", "uvicorn", "pydantic", "psycopg", "pymysql",
         "redis", "pika", "paho", "nats", "psutil", "rich", "click"]


def run_python(code):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_instrumenting_a_service_imports_no_driver_server_or_numpy():
    out = run_python(f"""
        import sys
        from watchkeeper import health

        @health.check(critical=False)
        def queue():
            return health.healthy("ok")

        wsgi = health.make_wsgi_app()
        health.default_runner().run_sync()
        from watchkeeper.health.checks import create_check
        create_check("disk"); create_check("tcp", {{"host": "127.0.0.1", "port": 1}})
        create_check("postgres"); create_check("redis"); create_check("http",
            {{"url": "http://127.0.0.1:1/"}})
        heavy = {HEAVY!r}
        print([m for m in heavy if m in sys.modules])
    """)
    assert out.strip() == "[]"


def test_default_runner_results_appear_on_the_default_registry():
    out = run_python("""
        from watchkeeper import REGISTRY, health

        @health.check
        def db():
            return health.unhealthy("gone")

        health.default_runner().run_sync()
        print(REGISTRY.get_sample_value("watchkeeper_health_status", {"check": "db"}),
              REGISTRY.get_sample_value("watchkeeper_health_check_failures_total",
                                        {"check": "db"}))
    """)
    assert out.split() == ["0.0", "1.0"]


def test_checks_run_on_their_interval_in_the_background():
    runs = []
    runner = Runner([function_check(lambda: runs.append(1), name="tick", interval=0.05)])
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while len(runs) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(runs) >= 3
        assert runner.latest()["tick"].status is Status.HEALTHY
    finally:
        runner.stop()
    stopped_at = len(runs)
    time.sleep(0.3)
    assert len(runs) <= stopped_at + 1  # at most one run was already under way


def test_history_reaches_the_health_document():
    from starlette.testclient import TestClient

    from watchkeeper.health import make_asgi_app

    state = {"s": "healthy"}
    runner = Runner([function_check(lambda: state["s"], name="flaky", interval=3600)],
                    fresh_interval=0)
    try:
        with TestClient(make_asgi_app(runner)) as client:
            for s in ["healthy", "unhealthy", "healthy", "unhealthy", "healthy"]:
                state["s"] = s
                doc = client.get("/health?fresh=1").json()
            entry = doc["checks"]["flaky"][0]
            assert entry["statusChanges"] == 4 and entry["flapping"] is True
            assert entry["statusSince"] == entry["time"]  # the last run changed it
    finally:
        runner.stop()


def test_starlette_routes_answer_exact_paths_without_redirects():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from watchkeeper.health import starlette_routes

    runner = Runner([function_check(lambda: True, name="db")])
    app = FastAPI()
    app.router.routes.extend(starlette_routes("/health", runner))
    try:
        with TestClient(app) as client:
            for path in ("/health", "/health/live", "/health/ready"):
                r = client.get(path, follow_redirects=False)
                assert r.status_code == 200, path
                assert json.loads(r.content)["status"] == "pass"
    finally:
        runner.stop()
