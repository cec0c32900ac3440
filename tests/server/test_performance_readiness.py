"""The config's ``performance`` section: the server's statuses and readiness follow the
overall score of what it stored, at the configured thresholds."""

from __future__ import annotations

import time

import pytest
from inprocess import served_app

from watchkeeper.config import parse_config

# one pool at 30, one cache at 100: overall 0.5 x 65 + 0.5 x 30 = 47.5
PLANTED = ('watchkeeper_health_score{component="pool",name="main"} 30\n'
           'watchkeeper_health_score{component="cache",name="products"} 100\n'
           'watchkeeper_health_score_penalty{component="pool",name="main",'
           'contributor="utilization"} 70\n')


# no host checks: a loaded machine fails the CPU load check, which is not what is tested here
QUIET = "collect_host: false\nchecks: []\n"


@pytest.fixture
def quiet_board():
    # only the planted components count: other tests' monitors are set aside meanwhile
    from watchkeeper.integrations.scores import SCOREBOARD

    with SCOREBOARD._lock:
        saved = dict(SCOREBOARD._fns)
        SCOREBOARD._fns.clear()
    try:
        yield
    finally:
        with SCOREBOARD._lock:
            SCOREBOARD._fns.update(saved)


def plant(client) -> None:
    assert client.post("/api/v1/import/prometheus",
                       content=PLANTED.encode()).status_code == 204
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if client.get("/health/performance").json()["components"]:
            return
        time.sleep(0.05)
    raise AssertionError("the planted scores never reached /health/performance")


def performance_failed(client) -> dict:
    """The performance check's entry once it has run on the planted scores."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        items = client.get("/health").json()["checks"].get("performance", [])
        if items and items[0]["status"] == "fail":
            return items[0]
        time.sleep(0.05)
    raise AssertionError("the performance check never failed")


def test_configured_thresholds_set_the_status_and_readiness(tmp_path, quiet_board) -> None:
    config = (QUIET + "performance: {degraded_below: 80, unhealthy_below: 50, interval: 100ms}\n")
    with served_app(tmp_path, config) as (client, _service):
        plant(client)
        perf = client.get("/health/performance")
        assert perf.status_code == 503
        body = perf.json()
        assert body["score"] == 47.5 and body["status"] == "unhealthy"
        assert body["worst"]["name"] == "main" and body["worst"]["worst"] == "utilization"
        assert performance_failed(client)["observedValue"] == 47.5
        assert client.get("/health/ready").status_code == 503


def test_without_the_section_readiness_ignores_the_score(tmp_path, quiet_board) -> None:
    with served_app(tmp_path, QUIET) as (client, _service):
        plant(client)
        perf = client.get("/health/performance")
        assert perf.status_code == 200 and perf.json()["status"] == "degraded"  # 47.5 >= 40
        assert client.get("/health/ready").status_code == 200
        assert "performance" not in client.get("/health").json()["checks"]


def test_a_report_only_section_keeps_the_server_ready(tmp_path, quiet_board) -> None:
    config = QUIET + "performance: {unhealthy_below: 50, ready: false, interval: 100ms}\n"
    with served_app(tmp_path, config) as (client, _service):
        plant(client)
        assert client.get("/health/performance").status_code == 503
        performance_failed(client)
        assert client.get("/health/ready").status_code == 200  # reported, not critical


@pytest.mark.parametrize("section", [
    "performance: {degraded_below: 30, unhealthy_below: 50}",
    "performance: {degraded_below: 101}",
    "performance: {unhealthy_below: -1}",
    "performance: {interval: 0}",
    "performance: {treshold: 3}",
])
def test_bad_sections_are_refused(section: str) -> None:
    with pytest.raises(ValueError):
        parse_config(f"collect_host: false\n{section}\n", "<config>")
