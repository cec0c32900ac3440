"""``capacity: {within: 24h}`` pages on a disk filling up, never on daily log rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.alerting.evaluator import RuleEvaluator
from watchkeeper.alerting.rule_export import rule_file_text
from watchkeeper.alerting.rules import RuleFileError, load_rule_text
from watchkeeper.alerting.state import FIRING
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

DAY_MS = 86_400_000
T0 = 1_700_000_000_000
RULES = """
groups:
  - name: capacity
    rules:
      - alert: DiskFullSoon
        capacity: {within: 24h}
        annotations: {summary: '{{ $labels.mountpoint }} full in {{ $value | humanizeDuration }}'}
"""


def test_filling_disk_fires_and_rotating_one_does_not(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "d", background=False)
    try:
        size = 100e9
        now = T0 + 3 * DAY_MS
        for ts in range(T0, now + 1, 600_000):
            days = (ts - T0) / DAY_MS
            used = {"/": 40e9 + 18e9 * days,  # 100 GB at day 3.3: about 7 h left
                    "/var/log": 40e9 + 30e9 * (days % 1)}  # rotated daily, no growth
            for mount, value in used.items():
                labels = {"mountpoint": mount, "fstype": "ext4", "device": "sda"}
                store.append({"__name__": "node_filesystem_size_bytes", **labels}, ts, size)
                store.append({"__name__": "node_filesystem_avail_bytes", **labels}, ts,
                             size - value)
        store.commit()
        ev = RuleEvaluator(store, Engine(store), load_rule_text(RULES))
        ev.evaluate_all(now)
        [alert] = ev.groups[0].rules[0].active.values()
        assert alert.state == FIRING and alert.labels.get("mountpoint") == "/"
        assert 4 * 3600 < alert.value < 10 * 3600
        assert float(alert.annotations["growth_per_day"]) == pytest.approx(18e9, rel=0.15)
        assert alert.annotations["summary"].startswith("/ full in ")
    finally:
        store.close()


def test_capacity_rules_are_checked_and_left_out_of_prometheus_files() -> None:
    with pytest.raises(RuleFileError, match="capacity needs within"):
        load_rule_text(RULES.replace("{within: 24h}", "{lookback: 7d}"))
    text, skipped = rule_file_text(load_rule_text(RULES))
    assert "DiskFullSoon" not in text and "capacity rules have no Prometheus form" in skipped[0]


def test_resources_narrow_the_rule_and_each_alert_names_its_resource(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "d", background=False)
    try:
        now = T0 + 3 * DAY_MS
        fs = {"mountpoint": "/", "fstype": "ext4", "device": "sda"}
        for ts in range(T0, now + 1, 600_000):
            days = (ts - T0) / DAY_MS
            store.append({"__name__": "node_filesystem_size_bytes", **fs}, ts, 100e9)
            store.append({"__name__": "node_filesystem_avail_bytes", **fs}, ts,
                         100e9 - 40e9 - 18e9 * days)  # space: about 7 h left
            store.append({"__name__": "node_filesystem_files", **fs}, ts, 1e6)
            store.append({"__name__": "node_filesystem_files_free", **fs}, ts,
                         6e5 - 1.7e5 * days)  # inodes: about 5 h left
            store.append({"__name__": "node_memory_MemTotal_bytes"}, ts, 16e9)
            store.append({"__name__": "node_memory_MemAvailable_bytes"}, ts,
                         6e9 - 1.8e9 * days)  # memory: about 7 h left
        store.commit()
        every = load_rule_text(RULES)
        ev = RuleEvaluator(store, Engine(store), every)
        ev.evaluate_all(now)
        fired = {a.labels.get("resource") for a in ev.groups[0].rules[0].active.values()}
        assert fired == {"disk", "inodes", "memory"}
        disks = load_rule_text(RULES.replace("{within: 24h}",
                                             "{within: 24h, resources: [disk, inodes]}"))
        ev = RuleEvaluator(store, Engine(store), disks)
        ev.evaluate_all(now)
        fired = {a.labels.get("resource") for a in ev.groups[0].rules[0].active.values()}
        assert fired == {"disk", "inodes"}
    finally:
        store.close()


def test_resources_must_be_a_list_of_names() -> None:
    with pytest.raises(RuleFileError, match="list of names"):
        load_rule_text(RULES.replace("{within: 24h}", "{within: 24h, resources: disk}"))
