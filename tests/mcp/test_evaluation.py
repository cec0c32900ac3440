"""A scripted evaluation without any model: a store with planted faults, twenty questions
an on-call person would ask, each mapped to a tool call whose output must carry the fact."""

from __future__ import annotations

import time

import numpy as np
import pytest

from watchkeeper.mcp import tools
from watchkeeper.mcp.backend import Backend
from watchkeeper.mcp.status import status

MIN = 60_000
DAY = 86400_000
NOW = int(time.time() * 1000) // MIN * MIN
STEP_AT = NOW - 90 * MIN            # the latency step
DISK_GB_PER_DAY = 3.0
QUEUE_PER_MIN = 10.0


def _plant(path):
    from watchkeeper.tsdb.store import Store

    with Store.open(path, background=False) as s:
        week = np.arange(NOW - 7 * DAY, NOW + 1, 5 * MIN, dtype=np.int64)
        days = (week - week[0]) / DAY
        rotation = 15e9 * ((week % DAY) / DAY)  # logs rotated at midnight
        for mount, used in (("/data", 50e9 + DISK_GB_PER_DAY * 1e9 * days + rotation),
                            ("/boot", np.full(len(week), 0.3e9))):
            lab = {"mountpoint": mount, "fstype": "ext4", "device": mount}
            s.append_array({"__name__": "node_filesystem_size_bytes", **lab}, week,
                           np.full(len(week), 100e9 if mount == "/data" else 1e9))
            s.append_array({"__name__": "node_filesystem_avail_bytes", **lab}, week,
                           (100e9 if mount == "/data" else 1e9) - used)
        six = np.arange(NOW - 6 * 3600_000, NOW + 1, MIN, dtype=np.int64)
        rng = np.random.default_rng(1)
        lat = 0.12 + rng.normal(0, 0.005, len(six))
        lat[six >= STEP_AT] += 0.33
        s.append_array({"__name__": "request_latency_seconds", "route": "/checkout"}, six, lat)
        s.append_array({"__name__": "request_latency_seconds", "route": "/home"}, six,
                       0.05 + rng.normal(0, 0.002, len(six)))
        s.append_array({"__name__": "http_requests_total", "code": "500", "job": "api"}, six,
                       2.0 * 60 * np.arange(len(six)))  # 2 errors a second
        s.append_array({"__name__": "http_requests_total", "code": "200", "job": "api"}, six,
                       50.0 * 60 * np.arange(len(six)))
        s.append_array({"__name__": "queue_depth", "queue": "emails"}, six,
                       QUEUE_PER_MIN * np.arange(len(six)))
        s.append_array({"__name__": "watchkeeper_health_status", "check": "payments-db"}, six,
                       (six < NOW - 30 * MIN).astype(float))
        s.append_array({"__name__": "watchkeeper_health_status", "check": "cache"}, six,
                       ((six // (5 * MIN)) % 2).astype(float))
        s.append_array({"__name__": "watchkeeper_health_status", "check": "api"}, six,
                       np.ones(len(six)))
        recent = six[six >= NOW - 20 * MIN]
        s.append_array({"__name__": "ALERTS", "alertname": "HighErrorRate",
                        "alertstate": "firing", "severity": "critical"}, recent,
                       np.ones(len(recent)))
        s.append_array({"__name__": "ALERTS", "alertname": "DiskPressure",
                        "alertstate": "pending", "severity": "warning"}, recent,
                       np.ones(len(recent)))
        s.append_array({"__name__": "up", "job": "billing", "instance": "10.0.0.5:9100"},
                       six, (six < NOW - 15 * MIN).astype(float))
        s.append_array({"__name__": "up", "job": "api", "instance": "10.0.0.6:8000"}, six,
                       np.ones(len(six)))


@pytest.fixture(scope="module")
def b(tmp_path_factory):
    # "now" is when the data is planted, not when the module was collected: a long run
    # may collect it many minutes before it runs.
    global NOW, STEP_AT
    NOW = int(time.time() * 1000) // MIN * MIN
    STEP_AT = NOW - 90 * MIN
    path = tmp_path_factory.mktemp("eval") / "data"
    _plant(path)
    backend = Backend.local(path)
    yield backend
    backend.close()


def _disk_truth_days() -> float:
    """Peak usage now (growth plus a full day of logs) against 100 GB, at 3 GB a day."""
    peak = 50e9 + DISK_GB_PER_DAY * 1e9 * 7 + 15e9
    return (100e9 - peak) / (DISK_GB_PER_DAY * 1e9)


def _changed(b):
    return tools.what_changed(b, at=str(STEP_AT / 1000), window="30m")["changes"][0]


QUESTIONS = [
    ("what is unhealthy?", lambda b: "payments-db" in
     [c["check"] for c in status(b)["health"]["failing_checks"]]),
    ("is anything flapping?", lambda b: status(b)["health"]["flapping"] == ["cache"]),
    ("what is firing?", lambda b: [a["alert"] for a in tools.alerts(b)["alerts"]] ==
     ["HighErrorRate"]),
    ("how bad is it?", lambda b: tools.alerts(b)["alerts"][0]["severity"] == "critical"),
    ("what is about to fire?", lambda b: [a["alert"] for a in
                                          tools.alerts(b, "pending")["alerts"]] ==
     ["DiskPressure"]),
    ("which targets are down?", lambda b: status(b)["targets"]["down_targets"][0]["job"] ==
     "billing"),
    ("when is the disk full?", lambda b: tools.capacity(b)["capacity"][0]["full_in_seconds"]
     / 86400 == pytest.approx(_disk_truth_days(), rel=0.2)),
    ("how fast does it grow?", lambda b: tools.capacity(b)["capacity"][0][
        "growth_per_day_value"] == pytest.approx(DISK_GB_PER_DAY * 1e9, rel=0.2)),
    ("is /boot filling?", lambda b: next(c for c in tools.capacity(b)["capacity"]
                                         if c["what"] == "/boot")["full_in"] is None),
    ("what changed 90 minutes ago?", lambda b: _changed(b)["series"] ==
     'request_latency_seconds{route="/checkout"}'),
    ("exactly when?", lambda b: abs(_changed(b)["changed_at"] - STEP_AT / 1000) <= 60),
    ("by how much?", lambda b: _changed(b)["after"] - _changed(b)["before"] ==
     pytest.approx(0.33, rel=0.1)),
    ("checkout p95 in the last 30 minutes?", lambda b: tools.query(
        b, 'request_latency_seconds{route="/checkout"}', start="now-30m")["series"][0][
        "p95"].endswith(" ms")),
    ("is the latency anomalous?", lambda b: tools.anomalies(
        b, "request_latency_seconds", window="6h", step="1m")["series"][0]["series"] ==
     'request_latency_seconds{route="/checkout"}'),
    ("what request metrics exist?", lambda b: tools.find_metrics(b, "requests")["metrics"][
        0]["name"] == "http_requests_total"),
    ("what labels does it have?", lambda b: set(tools.describe_metric(
        b, "http_requests_total")["labels"]["code"]["top"]) == {"200", "500"}),
    ("what is the error rate?", lambda b: tools.query(
        b, 'sum(rate(http_requests_total{code="500"}[5m]))', end=str(NOW / 1000),
        shape="table")["series"][0]["value"] == pytest.approx(2.0, rel=0.05)),
    ("when does the email queue pass 5,000?", lambda b: tools.forecast(
        b, "queue_depth", horizon="12h", threshold=5000, method="linear", lookback="6h")[
        "series"][0]["crosses_at"] == pytest.approx(
        (NOW + (5000 - QUEUE_PER_MIN * 360) / QUEUE_PER_MIN * MIN) / 1000, abs=600)),
    ("a typo in a metric name", lambda b: "http_requests_total" in tools.query(
        b, "http_request_total")["hints"]["nearest_metrics"]),
    ("since when is payments-db failing?", lambda b: tools.health(
        b, "payments-db")["checks"][0]["status"] == "fail"),
]


@pytest.mark.parametrize("question, check", QUESTIONS, ids=[q for q, _ in QUESTIONS])
def test_twenty_questions(b, question, check):
    assert check(b), question


def test_the_evaluation_has_twenty_questions():
    assert len(QUESTIONS) == 20
