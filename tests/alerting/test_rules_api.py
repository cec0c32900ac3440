"""/api/v1/rules and /api/v1/alerts answer in Prometheus's shapes."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from watchkeeper.alerting.evaluator import RuleEvaluator
from watchkeeper.alerting.rules import load_rule_text
from watchkeeper.alerting.rules_api import format_e, rules_routes
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

T0 = 1_700_000_000_000
RULES = """
groups:
  - name: g
    interval: 10s
    rules:
      - alert: HighLoad
        expr: load > 5
        for: 1m
        labels: {severity: critical}
        annotations: {summary: "load {{ $value }}"}
      - record: load:doubled
        expr: load * 2
"""


def client(tmp_path: Path) -> tuple[TestClient, Store]:
    store = Store.open(tmp_path / "data", background=False)
    store.append({"__name__": "load", "host": "a"}, T0, 9.5)
    store.commit()
    ev = RuleEvaluator(store, Engine(store), load_rule_text(RULES, "rules.yml"))
    ev.evaluate_all(T0)
    return TestClient(Starlette(routes=rules_routes(ev))), store


def test_rules_shape(tmp_path: Path) -> None:
    http, store = client(tmp_path)
    body = http.get("/api/v1/rules").json()
    assert body["status"] == "success"
    group = body["data"]["groups"][0]
    assert group["name"] == "g" and group["file"] == "rules.yml" and group["interval"] == 10
    alerting, recording = group["rules"]
    assert alerting["type"] == "alerting" and alerting["state"] == "pending"
    assert alerting["duration"] == 60 and alerting["health"] == "ok"
    assert alerting["alerts"][0]["value"] == "9.5e+00"
    assert alerting["alerts"][0]["activeAt"] == "2023-11-14T22:13:20.000Z"
    assert recording == {**recording, "type": "recording", "name": "load:doubled"}
    assert "labels" not in recording  # empty: omitted, as Prometheus does
    assert alerting["labels"] == {"severity": "critical"}
    only = http.get("/api/v1/rules", params={"type": "record"}).json()["data"]["groups"]
    assert [r["type"] for r in only[0]["rules"]] == ["recording"]
    store.close()


def test_alerts_shape(tmp_path: Path) -> None:
    http, store = client(tmp_path)
    alerts = http.get("/api/v1/alerts").json()["data"]["alerts"]
    assert alerts == [{"labels": {"alertname": "HighLoad", "host": "a", "severity": "critical"},
                       "annotations": {"summary": "load 9.5"}, "state": "pending",
                       "activeAt": "2023-11-14T22:13:20.000Z", "value": "9.5e+00"}]
    store.close()


def test_format_e_matches_go() -> None:
    assert format_e(1.0) == "1e+00"
    assert format_e(1234.5) == "1.2345e+03"
    assert format_e(0.001) == "1e-03"
    assert format_e(0.0) == "0e+00"
