"""Alertmanager's route tree, matchers, inhibition and maintenance windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.alerting.inhibit import InhibitRule, inhibited
from watchkeeper.alerting.routing import RoutingConfigError, build_route, parse_matcher
from watchkeeper.alerting.silences import MaintenanceWindow

TREE = {
    "receiver": "default", "group_by": ["alertname"], "group_wait": "30s",
    "routes": [
        {"matchers": ['severity="critical"'], "receiver": "pager", "group_wait": "0s",
         "continue": True},
        {"matchers": ['team=~"db|storage"'], "receiver": "dba",
         "routes": [{"match": {"env": "dev"}, "receiver": "dev-null"}]},
        {"match_re": {"service": "api-.*"}, "receiver": "api", "group_by": ["..."]},
    ],
}


def receivers(labels: dict[str, str]) -> list[str]:
    return [r.receiver for r in build_route(TREE).match(labels)]


def test_first_match_wins_unless_continue() -> None:
    assert receivers({"severity": "critical", "team": "db"}) == ["pager", "dba"]
    assert receivers({"team": "storage"}) == ["dba"]
    assert receivers({"team": "db", "env": "dev"}) == ["dev-null"]
    assert receivers({"service": "api-gw"}) == ["api"]
    assert receivers({"service": "web"}) == ["default"]
    assert receivers({"team": "dbx"}) == ["default"]  # regexes are anchored


def test_children_inherit_timing_and_grouping() -> None:
    root = build_route(TREE)
    pager, dba, api = root.routes
    assert pager.group_wait_ms == 0 and dba.group_wait_ms == 30_000
    assert dba.group_by == ["alertname"]
    key, labels = api.group_key({"service": "api-gw", "alertname": "X"})
    assert labels == {"service": "api-gw", "alertname": "X"}
    assert key.startswith("{}/2")


def test_bad_route_config_is_named() -> None:
    with pytest.raises(RoutingConfigError, match="group_wait"):
        build_route({"receiver": "x", "group_wait": "soon"})
    with pytest.raises(RoutingConfigError, match="unknown field"):
        build_route({"receiver": "x", "recevier": "y"})


@pytest.mark.parametrize(("text", "name", "op", "value"), [
    ('severity="critical"', "severity", "=", "critical"),
    ("severity=critical", "severity", "=", "critical"),
    ('team=~"db|storage"', "team", "=~", "db|storage"),
    ('env!="prod"', "env", "!=", "prod"),
    ('msg="a \\"quoted\\" word"', "msg", "=", 'a "quoted" word'),
])
def test_matcher_strings(text: str, name: str, op: str, value: str) -> None:
    m = parse_matcher(text)
    assert (m.name, m.op, m.value) == (name, op, value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_fuzzed_matchers_parse_or_raise_routing_config_error(text: str) -> None:
    try:
        parse_matcher(text)
    except RoutingConfigError:
        pass


def test_inhibition_needs_equal_labels() -> None:
    rule = InhibitRule.from_config({"source_matchers": ['alertname="NodeDown"'],
                                    "target_matchers": ['severity="warning"'],
                                    "equal": ["instance"]})
    down = {"alertname": "NodeDown", "instance": "a", "severity": "critical"}
    assert inhibited({"alertname": "DiskSlow", "instance": "a", "severity": "warning"},
                     [down], [rule])
    assert not inhibited({"alertname": "DiskSlow", "instance": "b", "severity": "warning"},
                         [down], [rule])


def test_maintenance_window_recurs_weekly() -> None:
    window = MaintenanceWindow.from_config({
        "name": "sunday-backup", "weekdays": ["sunday"], "start_time": "02:00",
        "end_time": "04:00", "matchers": ['job="backup"']})
    sunday_3am = int(datetime(2026, 11, 22, 3, 0, tzinfo=UTC).timestamp() * 1000)
    monday_3am = sunday_3am + 86_400_000
    assert window.active(sunday_3am) and not window.active(monday_3am)
    assert not window.active(sunday_3am + 3_600_000)  # 04:00 is the end


def test_maintenance_window_in_a_timezone() -> None:
    window = MaintenanceWindow.from_config({
        "name": "nightly", "start_time": "01:00", "end_time": "02:00",
        "timezone": "Europe/Berlin", "matchers": ['job="batch"']})
    berlin_1_30 = int(datetime(2026, 11, 22, 0, 30, tzinfo=UTC).timestamp() * 1000)  # UTC+1
    assert window.active(berlin_1_30)
    assert not window.active(berlin_1_30 + 3_600_000)
    with pytest.raises(ValueError, match="nightly"):
        MaintenanceWindow.from_config({"name": "nightly", "timezone": "Mars/Olympus"})
