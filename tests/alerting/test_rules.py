"""Prometheus rule files load unchanged and are validated as promtool validates them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peers import require_binary
from watchkeeper.alerting.rules import (
    RuleFileError,
    format_duration_ms,
    load_rule_file,
    load_rule_text,
    parse_duration_ms,
)

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = sorted((FIXTURES / "good").glob("*.yml"))
BAD = sorted((FIXTURES / "bad").glob("*.yml"))


def test_real_world_files_load_with_their_fields() -> None:
    groups = load_rule_file(FIXTURES / "good" / "node_exporter.yml")
    assert [g.name for g in groups] == ["node-exporter", "node-exporter.rules"]
    assert groups[0].interval_ms == 30_000 and groups[1].interval_ms is None
    cpu = next(r for r in groups[0].rules if r.alert == "NodeHighCPU")
    assert cpu.for_ms == 600_000 and cpu.keep_firing_for_ms == 300_000
    assert cpu.labels == {"severity": "warning"}
    record = groups[1].rules[1]
    assert record.record == "instance:node_memory_utilisation:ratio" and not record.is_alerting
    assert record.labels == {"team": "infra"}


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_files_name_line_and_rule(path: Path) -> None:
    with pytest.raises(RuleFileError) as info:
        load_rule_file(path)
    message = str(info.value)
    assert str(path) in message
    first = info.value.problems[0]
    assert first.split(":")[0].isdigit(), first  # line number first


def test_error_names_group_and_rule() -> None:
    with pytest.raises(RuleFileError, match=r'5:15: group "broken", rule 1, "Broken": could not '):
        load_rule_file(FIXTURES / "bad" / "bad_expr.yml")


@pytest.mark.parametrize("path", GOOD + BAD, ids=lambda p: p.name)
def test_promtool_and_we_agree(path: Path) -> None:
    promtool = require_binary("promtool")
    theirs = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                            timeout=60).returncode
    try:
        load_rule_file(path)
        ours = 0
    except RuleFileError:
        ours = 1
    assert ours == theirs


def test_durations_round_trip() -> None:
    assert parse_duration_ms("1h30m") == 5_400_000
    assert parse_duration_ms("250ms") == 250
    assert parse_duration_ms("0") == 0
    assert format_duration_ms(5_400_000) == "1h30m"
    with pytest.raises(ValueError):
        parse_duration_ms("5 minutes")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_fuzzed_rule_text_loads_or_raises_rule_file_error(text: str) -> None:
    try:
        load_rule_text(text, "fuzz.yml")
    except RuleFileError as e:
        assert e.problems


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="groups:-namerulsexpit {}[]\n'\"$|", max_size=120))
def test_fuzzed_rule_shaped_text_never_crashes(text: str) -> None:
    try:
        load_rule_text(text, "fuzz.yml")
    except RuleFileError:
        pass
