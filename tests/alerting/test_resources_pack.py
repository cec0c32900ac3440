"""The resources rule pack: five groups, 30+ documented rules, promtool-clean, and alerts
that fire (and stay quiet) on what the pool, cache and breaker monitors export."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from peers import require_binary
from rule_tests import promtool_test_pack
from watchkeeper.alerting.packs import PACK_DIR, load_pack

PACK = PACK_DIR / "resources.yml"


def test_five_groups_of_documented_rules() -> None:
    raw = yaml.safe_load(PACK.read_text())
    names = [g["name"] for g in raw["groups"]]
    assert names == ["watchkeeper-performance", "watchkeeper-cache", "watchkeeper-database",
                     "watchkeeper-circuit-breaker", "watchkeeper-system"]
    rules = [r for g in raw["groups"] for r in g["rules"]]
    assert len(rules) >= 30
    assert len({r["alert"] for r in rules}) == len(rules)
    for r in rules:
        assert r["labels"]["severity"] in ("info", "warning", "critical"), r["alert"]
        notes = r["annotations"]
        assert notes["summary"] and notes["description"] and notes["runbook"], r["alert"]
    assert sum(len(g.rules) for g in load_pack("resources")) == len(rules)


def test_enabled_with_one_config_line() -> None:
    from watchkeeper.alerting.default_rules import pack_groups

    packs = {g.pack for g in pack_groups({"rule_packs": ["resources"]})}
    assert "resources" in packs


@pytest.mark.peer
def test_promtool_checks_the_pack() -> None:
    result = subprocess.run([require_binary("promtool"), "check", "rules", str(PACK)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def _case(series: dict[str, str], alert: str, at: str, labels: list[dict]) -> dict:
    return {"interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": [{"eval_time": at, "alertname": alert,
                                 "exp_alerts": [{"exp_labels": lab} for lab in labels]}]}


CASES = [
    _case({'circuit_breaker_state{job="a",name="pay",state="open"}': "0 0 1x10"},
          "CircuitBreakerOpen", "6m",
          [{"severity": "critical", "job": "a", "name": "pay", "state": "open"}]),
    _case({'circuit_breaker_state{job="a",name="pay",state="open"}': "0x10"},
          "CircuitBreakerOpen", "6m", []),
    _case({'db_client_connection_timeouts_total{job="a",pool_name="main"}': "0 0 0 3 3 3 3"},
          "DBPoolTimeouts", "5m",
          [{"severity": "critical", "job": "a", "pool_name": "main"}]),
    _case({'db_client_connection_utilization{job="a",pool_name="main"}': "1x10"},
          "DBPoolExhausted", "8m",
          [{"severity": "critical", "job": "a", "pool_name": "main"}]),
    _case({'db_client_connection_utilization{job="a",pool_name="main"}': "0.5x10"},
          "DBPoolExhausted", "8m", []),
    _case({'cache_requests_total{job="a",cache="c",tier="l1",result="hit"}': "0+60x30",
           'cache_requests_total{job="a",cache="c",tier="l1",result="miss"}': "0+240x30"},
          "CacheHitRateLow", "28m",
          [{"severity": "warning", "job": "a", "cache": "c", "tier": "l1"}]),
    _case({'watchkeeper_health_score{job="a",component="breaker",name="pay"}': "10x20",
           'watchkeeper_health_score{job="a",component="cache",name="c"}': "100x20"},
          "ServiceHealthScoreCritical", "10m", [{"severity": "critical", "job": "a"}]),
]


@pytest.mark.peer
def test_alerts_fire_on_what_the_monitors_export(tmp_path) -> None:
    promtool_test_pack(PACK, CASES, tmp_path)
