"""Thresholds, incidents and silences managed over HTTP at run time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from watchkeeper.alerting.service import AlertingService
from watchkeeper.alerting.silences import SilenceError, silence_from_api
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

T0 = 1_700_000_000_000


@pytest.fixture
def service(tmp_path: Path):
    store = Store.open(tmp_path / "data", background=False)
    config = {"evaluation_interval": "10s", "default_rules": {"enabled": False}}
    svc = AlertingService(store, Engine(store), config, tmp_path / "alerting")
    svc.store = store
    yield svc
    svc.stop()
    store.close()


def push(service: AlertingService, ts: int, value: float) -> None:
    service.store.append({"__name__": "disk_used_percent", "mount": "/"}, ts, value)
    service.store.commit()


def test_threshold_put_compiles_to_rules_that_fire(service: AlertingService) -> None:
    http = TestClient(Starlette(routes=service.routes()))
    answer = http.put("/api/v1/thresholds/disk", json={
        "metric": "disk_used_percent", "warning": 80, "critical": 95, "duration": "0s"},
        headers={"X-Watchkeeper-User": "alice"})
    assert answer.status_code == 200, answer.text
    push(service, T0, 90)
    service.evaluator.evaluate_all(T0)
    alerts = http.get("/api/v1/alerts").json()["data"]["alerts"]
    assert [(a["labels"]["severity"], a["state"]) for a in alerts] == [("warning", "firing")]
    push(service, T0 + 10_000, 97)
    service.evaluator.evaluate_all(T0 + 10_000)
    alerts = http.get("/api/v1/alerts").json()["data"]["alerts"]
    assert [a["labels"]["severity"] for a in alerts] == ["critical"]
    one = http.get("/api/v1/thresholds/disk").json()["data"]
    assert one["updated_by"] == "alice" and one["changes"][0]["who"] == "alice"
    assert http.delete("/api/v1/thresholds/disk").status_code == 200
    assert http.get("/api/v1/thresholds/disk").status_code == 404
    assert http.get("/api/v1/rules").json()["data"]["groups"] == []


def test_bad_threshold_is_refused_naming_the_field(service: AlertingService) -> None:
    http = TestClient(Starlette(routes=service.routes()))
    answer = http.put("/api/v1/thresholds/x", json={"metric": "up", "warning": "high"})
    assert answer.status_code == 400 and "warning" in answer.json()["error"]
    answer = http.put("/api/v1/thresholds/x", json={"metric": "up(", "critical": 1})
    assert answer.status_code == 400 and "expr" in answer.json()["error"]


def test_incident_history_ack_and_resolve(service: AlertingService) -> None:
    http = TestClient(Starlette(routes=service.routes()))
    t0 = int(time.time() * 1000) - 1000  # acknowledged (now) between the two evaluations
    http.put("/api/v1/thresholds/disk", json={"metric": "disk_used_percent", "critical": 95})
    push(service, t0, 97)
    service.evaluator.evaluate_all(t0)
    [incident] = http.get("/api/v1/incidents", params={"state": "firing"}).json()["data"]
    assert incident["severity"] == "critical" and incident["labels"]["mount"] == "/"
    before = {s.name for m in service.collect() for s in m.samples}
    assert "watchkeeper_alert_time_to_ack_seconds_count" not in before
    acked = http.post(f"/api/v1/incidents/{incident['id']}/ack",
                      json={"by": "bob", "comment": "looking"}).json()["data"]
    assert acked["acked_by"] == "bob" and acked["ack_comment"] == "looking"
    again = http.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "eve"})
    assert again.status_code == 409
    push(service, t0 + 10_000, 50)
    service.evaluator.evaluate_all(t0 + 10_000)
    detail = http.get(f"/api/v1/incidents/{incident['id']}").json()["data"]
    assert detail["state"] == "resolved" and detail["resolved_by"] == "rule"
    assert [e["kind"] for e in detail["timeline"]] == ["state", "state", "ack", "state"]
    assert [e["state"] for e in detail["timeline"]] == ["pending", "firing", None, "resolved"]
    assert http.post(f"/api/v1/incidents/{incident['id']}/resolve").status_code == 409
    metrics = {s.name: s.value for m in service.collect() for s in m.samples}
    assert metrics["watchkeeper_alert_time_to_ack_seconds_count"] == 1
    assert metrics["watchkeeper_alert_time_to_resolve_seconds_sum"] == 10


def test_silences_crud_in_alertmanager_shapes(service: AlertingService) -> None:
    http = TestClient(Starlette(routes=service.routes()))
    body = {"matchers": [{"name": "alertname", "value": "Disk.*", "isRegex": True}],
            "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "carol", "comment": "maintenance"}
    sid = http.post("/api/v2/silences", json=body).json()["silenceID"]
    got = http.get(f"/api/v2/silence/{sid}").json()
    assert got["status"]["state"] == "active" and got["createdBy"] == "carol"
    assert got["matchers"] == [{"name": "alertname", "value": "Disk.*", "isRegex": True,
                                "isEqual": True}]
    assert service.silences.muted_by({"alertname": "DiskFull"}, T0) == [sid]
    assert http.delete(f"/api/v2/silence/{sid}").status_code == 200
    listed = http.get("/api/v2/silences").json()
    assert [s["status"]["state"] for s in listed] == ["expired"]
    bad = http.post("/api/v2/silences", json={**body, "matchers": []})
    assert bad.status_code == 400


def test_config_problems_are_listed_without_starting(tmp_path: Path) -> None:
    from watchkeeper.alerting.service import check_alerting_config

    (tmp_path / "bad.yml").write_text("groups:\n  - name: g\n    rules:\n      - alert: A\n")
    problems = check_alerting_config({
        "rule_files": ["bad.yml"], "evaluation_interval": 15.0,
        "route": {"receiver": "nobody"},
        "receivers": [{"name": "hook", "webhook_configs": [{}]}]}, tmp_path)
    assert any("field 'expr' must be set" in p for p in problems)
    assert any("webhook needs a url" in p for p in problems)
    good = check_alerting_config({"route": {"receiver": "hook"}, "receivers": [
        {"name": "hook", "webhook_configs": [{"url": "http://127.0.0.1:1/"}]}]})
    assert good == []


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["matchers", "startsAt", "endsAt", "createdBy",
                                        "comment", "id"]),
                       st.one_of(st.text(max_size=20), st.none(), st.integers(),
                                 st.lists(st.dictionaries(st.sampled_from(
                                     ["name", "value", "isRegex", "isEqual"]),
                                     st.one_of(st.text(max_size=8), st.booleans()),
                                     max_size=4), max_size=3))))
def test_fuzzed_silence_bodies_are_accepted_or_refused_cleanly(body: dict) -> None:
    try:
        silence_from_api(body)
    except SilenceError:
        pass
