"""Alertmanager's mute_time_intervals and active_time_intervals, checked case by case and
against the real prometheus-alertmanager fed the same config and alerts."""

from __future__ import annotations

import calendar
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from receiver_server import WebhookReceiver

from peers import free_port, require_binary
from watchkeeper.alerting.dispatcher import NotifiableAlert
from watchkeeper.alerting.routing import build_route
from watchkeeper.alerting.service import AlertingService, check_alerting_config
from watchkeeper.alerting.time_intervals import (
    TimeInterval,
    TimeIntervalError,
    parse_time_intervals,
    route_muted,
)
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize("spec, when, inside", [
    ({"times": [{"start_time": "09:00", "end_time": "17:00"}]}, "2026-03-02T09:00:00+00:00", True),
    ({"times": [{"start_time": "09:00", "end_time": "17:00"}]}, "2026-03-02T17:00:00+00:00", False),
    ({"times": [{"start_time": "22:00", "end_time": "24:00"}]}, "2026-03-02T23:59:59+00:00", True),
    ({"weekdays": ["monday:friday"]}, "2026-03-01T12:00:00+00:00", False),  # a Sunday
    ({"weekdays": ["Sunday"]}, "2026-03-01T12:00:00+00:00", True),
    ({"days_of_month": ["-1"]}, "2024-02-29T12:00:00+00:00", True),  # leap year's last day
    ({"days_of_month": ["-3:-1"]}, "2026-02-25T12:00:00+00:00", False),
    ({"days_of_month": ["1:31"]}, "2026-02-28T12:00:00+00:00", True),  # clamped to February
    ({"days_of_month": ["30"]}, "2026-02-28T12:00:00+00:00", False),
    ({"months": ["december:12"], "years": ["2026"]}, "2026-12-04T00:00:00+00:00", True),
    ({"months": ["1:3"]}, "2026-12-04T00:00:00+00:00", False),
    # 23:30 UTC on Sunday is 05:15 on Monday in Kathmandu (+05:45)
    ({"weekdays": ["monday"], "times": [{"start_time": "05:00", "end_time": "06:00"}],
      "location": "Asia/Kathmandu"}, "2026-03-01T23:30:00+00:00", True),
    ({"weekdays": ["monday"]}, "2026-03-01T23:30:00+00:00", False),
])
def test_an_interval_contains_a_time_as_alertmanager_decides(spec, when, inside) -> None:
    assert TimeInterval.from_config(spec).contains(at(when)) is inside


@pytest.mark.parametrize("spec, message", [
    ({"times": [{"start_time": "10:00", "end_time": "09:00"}]}, "start time cannot"),
    ({"times": [{"start_time": "10:00"}]}, "both start and end"),
    ({"times": [{"start_time": "25:00", "end_time": "26:00"}]}, "invalid format"),
    ({"weekdays": ["friday:monday"]}, "start day"),
    ({"weekdays": ["someday"]}, "not valid"),
    ({"days_of_month": ["0"]}, "out of range"),
    ({"days_of_month": ["-1:5"]}, "must be negative"),
    ({"months": ["march:january"]}, "bad month"),
    ({"years": ["2030:2020"]}, "before start year"),
    ({"location": "Mars/Olympus"}, "unknown time zone"),
    ({"hours": ["1"]}, "unknown field"),
])
def test_bad_intervals_are_refused(spec, message) -> None:
    with pytest.raises(TimeIntervalError, match=message):
        TimeInterval.from_config(spec)


def test_route_config_is_checked_as_alertmanager_does() -> None:
    base = {"receivers": [{"name": "r"}],
            "time_intervals": [{"name": "night", "time_intervals": [
                {"times": [{"start_time": "00:00", "end_time": "06:00"}]}]}]}
    ok = {**base, "route": {"receiver": "r", "routes": [
        {"matchers": ["a=b"], "mute_time_intervals": ["night"]}]}}
    assert check_alerting_config(ok) == []
    undefined = {**base, "route": {"receiver": "r", "routes": [
        {"active_time_intervals": ["day"]}]}}
    assert "undefined time interval 'day'" in check_alerting_config(undefined)[0]
    root = {**base, "route": {"receiver": "r", "mute_time_intervals": ["night"]}}
    assert "root route must not" in check_alerting_config(root)[0]
    twice = {**base, "mute_time_intervals": base["time_intervals"], "route": {"receiver": "r"}}
    assert "defined twice" in check_alerting_config(twice)[0]


def test_children_do_not_inherit_intervals() -> None:
    route = build_route({"receiver": "r", "routes": [
        {"matchers": ["a=b"], "mute_time_intervals": ["always"],
         "routes": [{"matchers": ["c=d"]}]}]})
    intervals = parse_time_intervals({"time_intervals": [{"name": "always",
                                                          "time_intervals": [{}]}]})
    child, grandchild = route.routes[0], route.routes[0].routes[0]
    assert route_muted(child, intervals, 0) and not route_muted(grandchild, intervals, 0)


# ---------------------------------------------------------------- against Alertmanager
ZONES = ["UTC", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham",
         "America/Los_Angeles", "Asia/Tokyo"]


def _cases(now: datetime) -> list[tuple[str, dict]]:
    """Intervals around now (each a margin of an hour or more from any edge), in zones
    whose local day does not turn within 90 minutes."""
    cases: list[tuple[str, dict]] = []
    for zone in ZONES:
        local = now.astimezone(ZoneInfo(zone))
        minute = local.hour * 60 + local.minute
        if minute < 90 or minute > 1440 - 90:
            continue

        def hhmm(m: int) -> str:
            return f"{m // 60:02d}:{m % 60:02d}"

        around = {"start_time": hhmm(max(0, minute - 60)),
                  "end_time": hhmm(min(1440, minute + 60))}
        later = ({"start_time": hhmm(minute + 70), "end_time": hhmm(minute + 85)}
                 if minute + 85 <= 1440 else
                 {"start_time": hhmm(minute - 85), "end_time": hhmm(minute - 70)})
        days = calendar.monthrange(local.year, local.month)[1]
        today, tomorrow = WEEKDAYS[(local.weekday() + 1) % 7], WEEKDAYS[(local.weekday() + 2) % 7]
        other_month = local.month % 12 + 1
        loc = {"location": zone}
        cases += [
            (f"{zone} now", {"times": [around], **loc}),
            (f"{zone} later", {"times": [later], **loc}),
            (f"{zone} today", {"weekdays": [today], "times": [around], **loc}),
            (f"{zone} tomorrow", {"weekdays": [tomorrow], **loc}),
            (f"{zone} day", {"days_of_month": [str(local.day)], **loc}),
            (f"{zone} day from end", {"days_of_month": [f"{local.day - days - 1}:-1"], **loc}),
            (f"{zone} month", {"months": [calendar.month_name[local.month].lower()],
                               "years": [f"{local.year}:{local.year + 1}"], **loc}),
            (f"{zone} other month", {"months": [str(other_month)], **loc}),
        ]
    cases += [("no zone", {"weekdays": ["monday:friday"]}), ("past", {"years": ["2000:2001"]})]
    return cases


def _config(url: str, cases: list[tuple[str, dict]]) -> dict:
    intervals = [{"name": f"i{n}", "time_intervals": [spec]} for n, (_, spec) in enumerate(cases)]
    routes = []
    for n in range(len(cases)):
        for kind in ("mute", "active"):
            routes.append({"matchers": [f'case="{kind}{n}"'],
                           f"{kind}_time_intervals": [f"i{n}"]})
    return {"route": {"receiver": "hook", "group_by": ["case"], "group_wait": "1s",
                      "group_interval": "1m", "repeat_interval": "1h", "routes": routes},
            "receivers": [{"name": "hook", "webhook_configs": [{"url": url}]}],
            "time_intervals": intervals}


def _delivered(receiver: WebhookReceiver) -> set[str]:
    return {b["groupLabels"]["case"] for b in receiver.bodies}


@pytest.mark.peer
def test_the_same_routes_are_muted_as_in_alertmanager(tmp_path: Path) -> None:
    binary = require_binary("prometheus-alertmanager")
    theirs_hook, ours_hook = WebhookReceiver(), WebhookReceiver()
    now = datetime.now(UTC)
    cases = _cases(now)
    names = [f"{kind}{n}" for n in range(len(cases)) for kind in ("mute", "active")]
    (tmp_path / "am.yml").write_text(yaml.safe_dump(_config(theirs_hook.url, cases)))
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    store = Store.open(tmp_path / "data", background=False)
    config = {**_config(ours_hook.url, cases), "default_rules": {"enabled": False}}
    service = AlertingService(store, Engine(store), config, tmp_path / "alerting")
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail(f"alertmanager did not start: {proc.stderr.read()[-2000:]}")
        starts = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        response = httpx.post(f"{base}/api/v2/alerts", json=[
            {"labels": {"alertname": "Probe", "case": name}, "startsAt": starts}
            for name in names], timeout=10)
        assert response.status_code == 200, response.text
        now_ms = int(time.time() * 1000)
        service.dispatcher.receive([NotifiableAlert({"alertname": "Probe", "case": name}, {},
                                                    now_ms - 60_000, 0) for name in names],
                                   now_ms)
        service.dispatcher.flush_due(now_ms + 2000)
        for integration in service.delivery.integrations:
            service.delivery.send_due(integration)
        ours = _delivered(ours_hook)
        theirs_hook.wait(len(ours), timeout=30)
        time.sleep(3)  # anything Alertmanager sends beyond ours arrives by now
        theirs = _delivered(theirs_hook)
    finally:
        service.stop()
        store.close()
        proc.terminate()
        proc.wait(timeout=10)
        theirs_hook.close()
        ours_hook.close()
    described = {f"{kind}{n}": f"{kind} {label}" for n, (label, _) in enumerate(cases)
                 for kind in ("mute", "active")}
    assert sorted(described[c] for c in ours) == sorted(described[c] for c in theirs)
    assert 0 < len(ours) < len(names)  # some routes muted, some not
