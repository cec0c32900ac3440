"""The errors rule pack: valid for promtool, and each alert fires on the series it reads
(``promtool test rules``), silent otherwise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

import watchkeeper
from peers import require_binary

PACK = Path(watchkeeper.__file__).parent / "alerting" / "packs" / "errors.yml"

TESTS = {
    "rule_files": [str(PACK)],
    "evaluation_interval": "1m",
    "tests": [{
        "interval": "1m",
        "input_series": [
            # group a: first seen at t=0 (the test's epoch), so new for 15 minutes
            {"series": 'watchkeeper_error_group_first_seen_timestamp_seconds'
                       '{error_group="a",error_type="KeyError"}', "values": "0x30"},
            {"series": 'watchkeeper_error_group_regressed'
                       '{error_group="a",error_type="KeyError"}', "values": "0x10 1x20"},
            {"series": 'errors_total{job="shop",instance="i",error_group="b",'
                       'error_type="ValueError",http_route="/pay"}',
             "values": "_x20 1+1x25"},
        ],
        "alert_rule_test": [
            {"eval_time": "5m", "alertname": "ErrorGroupNew", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "error_group": "a",
                               "error_type": "KeyError"},
                "exp_annotations": {
                    "runbook_url": "docs/runbooks.md#errorgroupnew",
                    "summary": "New error KeyError (group a).",
                    "description": "An error group first seen less than 15 minutes ago: "
                                   "`watchkeeper errors show a` shows its samples."}}]},
            {"eval_time": "20m", "alertname": "ErrorGroupNew", "exp_alerts": []},
            {"eval_time": "5m", "alertname": "ErrorGroupRegressed", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "ErrorGroupRegressed", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "error_group": "a",
                               "error_type": "KeyError"},
                "exp_annotations": {
                    "runbook_url": "docs/runbooks.md#errorgroupregressed",
                    "summary": "Resolved error KeyError came back (group a).",
                    "description": "Group a was marked resolved and has occurred again; "
                                   "it stays firing until the group is resolved again."}}]},
            {"eval_time": "10m", "alertname": "ErrorGroupNewInService", "exp_alerts": []},
            {"eval_time": "22m", "alertname": "ErrorGroupNewInService", "exp_alerts": [{
                "exp_labels": {"severity": "info", "job": "shop", "instance": "i",
                               "error_group": "b", "error_type": "ValueError",
                               "http_route": "/pay"},
                "exp_annotations": {
                    "runbook_url": "docs/runbooks.md#errorgroupnewinservice",
                    "summary": "New error ValueError on shop i.",
                    "description": "errors_total has a group (route /pay) that did not "
                                   "exist 15 minutes ago."}}]},
            {"eval_time": "40m", "alertname": "ErrorGroupNewInService", "exp_alerts": []},
        ],
    }],
}


def test_the_pack_passes_promtool_check_rules() -> None:
    promtool = require_binary("promtool")
    out = subprocess.run([promtool, "check", "rules", str(PACK)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 rules found" in out.stdout


def test_each_alert_fires_on_its_series(tmp_path) -> None:
    promtool = require_binary("promtool")
    tests = tmp_path / "errors_test.yml"
    tests.write_text(yaml.safe_dump(TESTS))
    out = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_pack_loads_by_name() -> None:
    from watchkeeper.alerting.packs import available_packs, load_pack

    assert "errors" in available_packs()
    (group,) = load_pack("errors")
    assert [r.name for r in group.rules] == ["ErrorGroupNew", "ErrorGroupRegressed",
                                             "ErrorGroupNewInService"]
