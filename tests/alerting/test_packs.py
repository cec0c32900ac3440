"""Rule packs: every pack passes promtool, defaults load unless turned off, disable and
override by alert name, and the default rules evaluate (and stay quiet) on real data."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from peers import require_binary
from watchkeeper.alerting.default_rules import pack_groups
from watchkeeper.alerting.packs import (
    DEFAULT_PACKS,
    PACK_DIR,
    PackError,
    available_packs,
    enabled_packs,
    load_pack,
)
from watchkeeper.alerting.rule_export import rule_file_text
from watchkeeper.alerting.rules import load_rule_text
from watchkeeper.alerting.service import check_alerting_config
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

ROOT = Path(__file__).parents[2]
PACKS = sorted(PACK_DIR.glob("*.yml"))


def promtool_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([require_binary("promtool"), "check", "rules", str(path)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.peer
@pytest.mark.parametrize("path", PACKS, ids=[p.stem for p in PACKS])
def test_every_pack_passes_promtool_and_our_loader(path: Path) -> None:
    result = promtool_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert load_pack(path.stem)


def _anchors() -> set[str]:
    text = (ROOT / "docs" / "runbooks.md").read_text()
    return {re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
            for line in text.splitlines() if line.startswith("## ")}


@pytest.mark.parametrize("name", DEFAULT_PACKS)
def test_default_rules_are_documented_and_complete(name: str) -> None:
    raw = yaml.safe_load((PACK_DIR / f"{name}.yml").read_text())
    anchors = _anchors()
    for group in raw["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            assert "for" in rule, rule["alert"]
            assert rule["labels"]["severity"] in ("info", "warning", "critical"), rule["alert"]
            notes = rule["annotations"]
            assert notes["summary"] and notes["description"], rule["alert"]
            page, _, anchor = notes["runbook_url"].partition("#")
            assert page == "docs/runbooks.md" and anchor in anchors, rule["alert"]


def test_defaults_load_unless_turned_off_and_packs_add_with_one_line() -> None:
    assert "defaults" in available_packs()
    names = {g.pack for g in pack_groups({})}
    assert names == set(DEFAULT_PACKS)
    assert pack_groups({"default_rules": {"enabled": False}}) == []
    assert enabled_packs(["defaults", "x"], defaults=True) == [*DEFAULT_PACKS, "x"]
    with pytest.raises(PackError, match=r"available: .*defaults"):
        load_pack("../rules")
    with pytest.raises(ValueError, match="rule_packs: no rule pack 'nope'"):
        pack_groups({"rule_packs": ["nope"]})


def _rule(groups, name):
    return next(r for g in groups for r in g.rules if r.alert == name)


def test_disable_and_override_by_alert_name() -> None:
    groups = pack_groups({"default_rules": {
        "disable": ["HostLoadAboveCores"],
        "override": {"TargetDown": {"for": "1m", "labels": {"severity": "critical",
                                                             "team": "ops"},
                                    "annotations": {"summary": "down!"}},
                     "HealthCheckFailing": {"for": 15, "expr": "watchkeeper_health_status < 1"}}}})
    alerts = {r.alert for g in groups for r in g.rules}
    assert "HostLoadAboveCores" not in alerts and "HostCpuSaturated" in alerts
    down = _rule(groups, "TargetDown")
    assert (down.for_ms, down.labels["severity"], down.labels["team"]) == (60_000, "critical",
                                                                           "ops")
    assert down.annotations["summary"] == "down!" and down.annotations["description"]
    health = _rule(groups, "HealthCheckFailing")
    assert (health.for_ms, health.expr) == (15_000, "watchkeeper_health_status < 1")
    assert _rule(pack_groups({}), "TargetDown").for_ms == 300_000  # the pack is untouched


@pytest.mark.parametrize("config, message", [
    ({"default_rules": {"disable": ["NoSuchAlert"]}}, "default_rules.disable: .*NoSuchAlert"),
    ({"default_rules": {"override": {"Nope": {"for": "1m"}}}}, "override: .*Nope"),
    ({"default_rules": {"override": {"TargetDown": {"for": "soon"}}}},
     "override.TargetDown.for"),
    ({"default_rules": {"override": {"TargetDown": {"expr": "up =="}}}},
     "override.TargetDown: could not parse"),
    ({"default_rules": {"override": {"TargetDown": {"color": "red"}}}}, "unknown field"),
    ({"default_rules": {"enabled": "yes"}}, "enabled: expected true or false"),
    ({"default_rules": {"disable": "TargetDown"}}, "disable: expected a list"),
    ({"rule_packs": "defaults"}, "rule_packs: expected a list"),
])
def test_bad_default_rules_config_is_refused_naming_the_key(config, message) -> None:
    problems = check_alerting_config(config)
    assert problems and re.search(message, problems[0]), problems


@pytest.mark.peer
def test_export_of_overridden_defaults_and_rule_files_passes_promtool(tmp_path: Path) -> None:
    mine = load_rule_text("groups:\n  - name: watchkeeper-self\n    rules:\n"
                          "      - record: job:up:sum\n        expr: sum by (job) (up)\n")
    groups = pack_groups({"default_rules": {"override": {"TargetDown": {"for": "90s"}}}})
    text, skipped = rule_file_text(groups + mine)
    assert skipped == []
    path = tmp_path / "rules.yml"
    path.write_text(text)
    result = promtool_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    again = load_rule_text(text)
    assert [g.name for g in again][-1] == "watchkeeper-self-2"
    assert _rule(again, "TargetDown").for_ms == 90_000


T0 = 1_800_000_000_000
HOUR = 3_600_000


def _fs(store: Store, times: np.ndarray, avail: np.ndarray, size: float = 100e9) -> None:
    base = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/var", "job": "node",
            "instance": "h:9100"}
    for name, values in (("node_filesystem_avail_bytes", avail),
                         ("node_filesystem_size_bytes", np.full(len(times), size)),
                         ("node_filesystem_readonly", np.zeros(len(times)))):
        store.append_array({"__name__": name, **base}, times, values)
    store.commit()


NAIVE = "predict_linear(node_filesystem_avail_bytes[1h], 24 * 3600) < 0"


def _fires(tmp_path: Path, avail_at, expr: str | None = None) -> bool:
    """Whether HostFilesystemFillingUp's expression holds now, for 12 h of data."""
    store = Store.open(tmp_path / "data", background=False)
    try:
        times = np.arange(T0 - 12 * HOUR, T0 + 1, 60_000, dtype=np.int64)
        _fs(store, times, np.array([avail_at((t - T0) / HOUR) for t in times]))
        expr = expr or _rule(pack_groups({}), "HostFilesystemFillingUp").expr
        return bool(Engine(store).instant(expr, T0).value)
    finally:
        store.close()


def test_filling_up_fires_on_steady_growth(tmp_path: Path) -> None:
    # 22 GB free 12 h ago, 1.5 GB an hour less since: 4 GB left, full in under 3 hours
    assert _fires(tmp_path, lambda h: 4e9 - 1.5e9 * h)


def test_filling_up_ignores_a_log_rotation_sawtooth(tmp_path: Path) -> None:
    # 19 % free after each rotation, 6 GB of logs written every 2 hours, then rotated; now
    # is just before a rotation: the raw series falls steeply most of the time (a plain
    # predict_linear pages), but the disk is not filling
    def sawtooth(h: float) -> float:
        return 19e9 - 3e9 * ((h + 13.9) % 2)

    assert _fires(tmp_path / "naive", sawtooth, NAIVE)
    assert not _fires(tmp_path / "ours", sawtooth)


def test_filling_up_needs_space_below_twenty_percent(tmp_path: Path) -> None:
    assert not _fires(tmp_path, lambda h: 30e9 - 3e9 * h)


def test_every_default_rule_evaluates_on_a_real_host_collection(tmp_path: Path) -> None:
    from watchkeeper.server.ingest import family_samples
    from watchkeeper.system import HostCollector

    store = Store.open(tmp_path / "data", background=False)
    try:
        collector = HostCollector()
        now = T0
        for i in range(3):
            target = {"job": "watchkeeper", "instance": "local"}
            for labels, ts, value in family_samples(collector.collect(), target,
                                                    now + i * 15_000):
                store.append(labels, ts, value)
            store.commit()
        engine = Engine(store)
        for group in pack_groups({}):
            for rule in group.rules:
                engine.instant(rule.expr, now + 30_000)  # raises on any unsupported part
    finally:
        store.close()


def test_a_reload_applies_new_default_rules_settings(tmp_path: Path) -> None:
    from watchkeeper.alerting.service import AlertingService

    store = Store.open(tmp_path / "data", background=False)
    service = AlertingService(store, Engine(store), {}, tmp_path / "alerting")
    try:
        def alerts() -> set[str]:
            return {r.rule.alert for g in service.evaluator.groups for r in g.rules}

        assert "TargetDown" in alerts()
        service.reload({"default_rules": {"disable": ["TargetDown"]}})
        assert "TargetDown" not in alerts() and "HealthCheckFailing" in alerts()
        with pytest.raises(ValueError, match="Nope"):
            service.reload({"default_rules": {"disable": ["Nope"]}})
        assert "TargetDown" not in alerts()  # a refused reload keeps what ran
        service.reload({"default_rules": {"enabled": False}})
        assert alerts() == set()
    finally:
        service.stop()
        store.close()


def _skew_fires(tmp_path: Path, offset_at) -> bool:
    """HostClockSkew's expression now, over 20 minutes of node_time_seconds samples."""
    store = Store.open(tmp_path / "data", background=False)
    try:
        times = np.arange(T0 - 20 * 60_000, T0 + 1, 15_000, dtype=np.int64)
        values = np.array([t / 1000 + offset_at(i) for i, t in enumerate(times)])
        store.append_array({"__name__": "node_time_seconds", "instance": "h"}, times, values)
        store.commit()
        expr = _rule(pack_groups({}), "HostClockSkew").expr
        return bool(Engine(store).instant(expr, T0).value)
    finally:
        store.close()


def test_clock_skew_fires_ahead_and_behind(tmp_path: Path) -> None:
    assert _skew_fires(tmp_path / "ahead", lambda i: 3.0)
    assert _skew_fires(tmp_path / "behind", lambda i: -2.5 + (i % 3) * 0.5)  # plus delays


def test_slow_collections_are_not_clock_skew(tmp_path: Path) -> None:
    # a true clock, read up to 4 s late on a busy host but on time now and then
    assert not _skew_fires(tmp_path, lambda i: [0.1, 4.0, 2.5, 3.0][i % 4])


def _retention_fires(tmp_path: Path, days_after_maintenance: int,
                     hours_since_maintenance: float = 0) -> bool:
    """StoreRetentionBehind's expression over the server's own metrics for a store with a
    one-day retention: 3 days written, maintenance run (now, by the wall clock), then more
    days written without it; evaluated ``hours_since_maintenance`` later."""
    import time
    from types import SimpleNamespace

    from watchkeeper.server.ingest import family_samples
    from watchkeeper.server.selfmetrics import ServerCollector

    day = 24 * HOUR
    now = int(time.time() * 1000)
    first = now - (3 + days_after_maintenance) * day
    store = Store.open(tmp_path / "data", background=False, retention_ms=day)
    own = Store.open(tmp_path / "self", background=False)
    try:
        def write(days_from: int, days_to: int) -> None:
            times = np.arange(first + days_from * day, first + days_to * day, 60_000,
                              dtype=np.int64)
            store.append_array({"__name__": "x", "job": "j"}, times, np.ones(len(times)))
            store.commit()

        write(0, 3)
        store.maintain()
        write(3, 3 + days_after_maintenance)
        service = SimpleNamespace(ingester=None, store=store, scraper=None, streamer=None,
                                  collect_seconds=0.0, last_reload_ok=True,
                                  last_reload_time=0.0, started_at=0.0)
        at = now + int(hours_since_maintenance * HOUR)
        for t in (at - 2 * HOUR, at - HOUR, at):
            for sample in family_samples(ServerCollector(service).collect(),
                                         {"job": "watchkeeper", "instance": "local"}, t):
                own.append(*sample)
            own.commit()
        expr = _rule(pack_groups({}), "StoreRetentionBehind").expr
        return bool(Engine(own).instant(expr, at).value)
    finally:
        store.close()
        own.close()


def test_retention_behind_fires_only_when_maintenance_stops_deleting(tmp_path: Path) -> None:
    assert not _retention_fires(tmp_path / "kept-up", 0)  # retention ran: a day or so kept
    assert _retention_fires(tmp_path / "outgrown", 3)  # 3 days written since it last ran
    assert _retention_fires(tmp_path / "stalled", 0, hours_since_maintenance=3)
