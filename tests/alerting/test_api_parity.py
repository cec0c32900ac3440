"""/api/v1/rules and /api/v1/alerts have Prometheus's fields and values, checked against a
real Prometheus evaluating the same rule file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from prometheus_runner import PrometheusRunner
from watchkeeper.alerting.evaluator import RuleEvaluator
from watchkeeper.alerting.rules import load_rule_file
from watchkeeper.alerting.rules_api import rules_routes
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

RULES = """
groups:
  - name: parity
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels: {severity: page}
        annotations: {summary: "value {{ $value }} ({{ $value | humanizePercentage }})"}
      - alert: LongPending
        expr: vector(2)
        for: 1h
        keep_firing_for: 5m
      - record: job:three
        expr: vector(3)
        labels: {source: parity}
"""


def _shape(value: object) -> object:
    """Keys (recursively) without the values that depend on time."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()
                if k not in ("labels", "annotations")} | {
            k: sorted(value[k]) for k in ("labels", "annotations") if k in value}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


@pytest.mark.peer
def test_rules_and_alerts_match_prometheus(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    config = {"global": {"evaluation_interval": "1s"}, "rule_files": [str(rules)]}
    with PrometheusRunner(tmp_path / "prom", config=config) as prom:
        theirs_alerts = prom.wait_until(
            lambda: (a := prom.api("alerts")["alerts"]) and len(a) == 2 and a, timeout=30)
        theirs_rules = prom.api("rules")
    store = Store.open(tmp_path / "data", background=False)
    try:
        evaluator = RuleEvaluator(store, Engine(store), load_rule_file(rules))
        evaluator.evaluate_all(int(time.time() * 1000))
        http = TestClient(Starlette(routes=rules_routes(evaluator)))
        ours_alerts = http.get("/api/v1/alerts").json()["data"]["alerts"]
        ours_rules = http.get("/api/v1/rules").json()["data"]
    finally:
        store.close()

    def comparable(alerts: list[dict]) -> list[tuple]:
        return sorted((a["labels"]["alertname"], a["labels"], a["annotations"], a["state"],
                       a["value"]) for a in alerts)

    assert comparable(ours_alerts) == comparable(theirs_alerts)
    assert _shape(ours_rules) == _shape(theirs_rules)
    for ours, theirs in zip(ours_rules["groups"][0]["rules"],
                            theirs_rules["groups"][0]["rules"], strict=True):
        for key in ("name", "query", "labels", "annotations", "duration", "keepFiringFor",
                    "health", "type", "state"):
            assert ours.get(key) == theirs.get(key), key


TEMPLATES = {
    "plain": "{{ $value }}",
    "humanize": "{{ $value | humanize }}",
    "humanize1024": "{{ humanize1024 $value }}",
    "duration": "{{ $value | humanizeDuration }}",
    "small_duration": "{{ 0.0123 | humanizeDuration }}",
    "percentage": "{{ 0.4567 | humanizePercentage }}",
    "timestamp": "{{ $value | humanizeTimestamp }}",
    "printf": '{{ printf "%.2f|%d|%s|%5.1f|%q" $value 42 "x" 3.14159 "y" }}',
    "case": '{{ $labels.instance | toUpper }} {{ "ABC" | toLower }} {{ title "hello world" }}',
    "regex": '{{ reReplaceAll "(.*):(.*)" "$2-$1" $labels.instance }}',
    "if": "{{ if gt $value 1000.0 }}big{{ else if gt $value 10.0 }}mid{{ else }}small{{ end }}",
    "range": "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
    "with": "{{ with $labels.instance }}at {{ . }}{{ else }}nowhere{{ end }}",
    "external": "{{ $externalLabels.cluster }}",
    "trim": "a  {{- 1 -}}  b",
    "match": '{{ if match "^host" $labels.instance }}yes{{ end }}',
    "strip": '{{ $labels.instance | stripPort }}',
    "len": "{{ len $labels }}",
    "and_or": '{{ and 1 0 }} {{ or 0 "" "z" }} {{ not 0 }}',
    "query": '{{ with query "vector(7)" }}{{ . | first | value }}{{ end }}',
    "verbs": '{{ printf "%v %g %e %.3e %x %t %%" 0.000012 1e21 123.5 $value 255 true }}',
    "small": "{{ humanize 0.000123 }} {{ humanize -4321 }} {{ humanize1024 0.5 }}",
    "ts_fraction": "{{ humanizeTimestamp 1700000000.25 }}",
    "numbers": "{{ 1e21 }} {{ 100000 }} {{ 1000000.0 }} {{ 0.0001 }} {{ -0.5 }}",
    "nested": '{{ if and (gt $value 1.0) (eq $labels.instance "host1:9100") }}ok{{ end }}',
    "missing": "{{ $labels.nothere }}|{{ index $labels \"instance\" }}",
}


@pytest.mark.peer
def test_template_expansion_matches_prometheus(tmp_path: Path) -> None:
    import json

    annotations = json.dumps(TEMPLATES)
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n  - name: templates\n    interval: 1s\n    rules:\n"
        "      - alert: Templated\n"
        '        expr: label_replace(vector(1234567.891), "instance", "host1:9100", "", "")\n'
        f"        annotations: {annotations}\n")
    config = {"global": {"evaluation_interval": "1s", "external_labels": {"cluster": "eu1"}},
              "rule_files": [str(rules)]}
    with PrometheusRunner(tmp_path / "prom", config=config) as prom:
        [theirs] = prom.wait_until(lambda: prom.api("alerts")["alerts"], timeout=30)
    store = Store.open(tmp_path / "data", background=False)
    try:
        evaluator = RuleEvaluator(store, Engine(store), load_rule_file(rules),
                                  external_labels={"cluster": "eu1"})
        evaluator.evaluate_all(int(time.time() * 1000))
        [ours] = evaluator.groups[0].rules[0].active.values()
    finally:
        store.close()
    for name in TEMPLATES:
        assert ours.annotations[name] == theirs["annotations"][name], name
