"""``GET /api/v1/operations`` of a real ``watchkeeper serve`` scraping an instrumented process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_process import ServeProcess

from peers import free_port

pytestmark = pytest.mark.peer

WORKER = """
import sys, time, watchkeeper
watchkeeper.start_http_server(int(sys.argv[1]), addr="127.0.0.1")
with watchkeeper.bulk("import_users", total=1000, report=None) as op:
    for i in range(400):
        if i % 100 == 0:
            op.fail(ValueError("no email"), item=i)
        else:
            op.ok()
with watchkeeper.bulk("still_running", total=10, report=None) as op:
    op.ok(5)
    for _ in range(600):  # bounded: the test stops the process long before
        time.sleep(0.1)
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(port)], env=env)
    config = {"scrape_configs": [{"job_name": "importer", "scrape_interval": "1s",
                                  "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]}
    try:
        with ServeProcess(tmp_path_factory.mktemp("ops"), config) as server:
            def both() -> bool:
                rows = server.client.get("/api/v1/operations").json()["data"]
                return len({r["operation"] for r in rows}) == 2
            server.wait_until(both, 30, "both operations listed")
            yield server
    finally:
        worker.kill()
        worker.wait(10)


def test_running_and_finished_operations_of_a_scraped_process(served) -> None:
    body = served.client.get("/api/v1/operations").json()
    assert body["status"] == "success"
    rows = {r["operation"]: r for r in body["data"]}
    done = rows["import_users"]
    assert done["job"] == "importer" and not done["running"]
    assert (done["total"], done["done"], done["ok"], done["failed"]) == (1000, 400, 396, 4)
    assert done["errors_by_type"] == {"ValueError": 4}
    assert done["progress"] == pytest.approx(0.4)
    live = rows["still_running"]
    assert live["running"] and live["done"] == 5 and live["progress"] == pytest.approx(0.5)
    assert body["data"][0]["operation"] == "still_running"  # running first
    running = served.client.get("/api/v1/operations", params={"state": "running"}).json()
    assert [r["operation"] for r in running["data"]] == ["still_running"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(window=st.one_of(st.text(max_size=12), st.sampled_from(["1h", "0s", "40d", "5m"])),
       state=st.one_of(st.text(max_size=10), st.sampled_from(["all", "running", "finished"])))
def test_any_query_gets_an_answer_or_a_clean_400(served, window, state) -> None:
    response = served.client.get("/api/v1/operations",
                                 params={"window": window, "state": state})
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body["status"] == ("success" if response.status_code == 200 else "error")
