"""The serve config: Prometheus-shaped YAML, defaults without a file, errors at file:line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.config import ConfigError, load_config, parse_config, parse_duration_seconds

GOOD = """\
global:
  scrape_interval: 10s
  collect_interval: 1s
  external_labels: {site: lab}
scrape_configs:
  - job_name: app
    scrape_interval: 1m30s
    scrape_timeout: 5s
    sample_limit: 1000
    body_size_limit: 10MB
    basic_auth: {username: u, password: hunter2}
    static_configs:
      - targets: ["127.0.0.1:8000"]
        labels: {team: a}
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: "go_.*"
        action: drop
checks:
  - type: disk
    parameters: {path: /}
storage: {path: /tmp/x, retention: 15d, sync: always}
web: {listen_address: "127.0.0.1:0"}
"""


def test_a_prometheus_shaped_file_loads() -> None:
    loaded = parse_config(GOOD, "good.yml")
    config = loaded.config
    assert config.global_.scrape_interval == 10
    assert config.global_.external_labels == {"site": "lab"}
    job = config.scrape_configs[0]
    assert config.interval_of(job) == 90 and config.timeout_of(job) == 5
    assert job.body_size_limit == 10_000_000
    assert job.basic_auth is not None and job.basic_auth.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(config)
    assert loaded.checks is not None and loaded.checks[0].type == "disk"
    assert config.storage.retention == 15 * 86400 and config.storage.sync == "always"


def test_no_file_means_safe_defaults() -> None:
    config = parse_config("").config
    assert config.web.host_port == ("127.0.0.1", 9797)
    assert config.storage.path == "./watchkeeper-data"
    assert config.global_.collect_interval == 5
    assert config.collect_host


@pytest.mark.parametrize(("text", "line", "words"), [
    ("global:\n  scrape_interval: 5x\n", 2, "global.scrape_interval: not a valid duration"),
    ("scrape_configs:\n  - job_name: a\n    sample_limt: 3\n", 3, "unknown field"),
    ("scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n"
     "      - action: replace\n", 4, "needs a target_label"),
    ("scrape_configs:\n  - job_name: a\n  - job_name: a\n", 1, "duplicate job_name"),
    ("storage:\n  sync: sometimes\n", 2, "storage.sync"),
    ("checks:\n  - type: nope\n", 2, "unknown check type"),
    ("web:\n  listen_address: nowhere\n", 2, "host:port"),
    ("global: [1\n", 2, "invalid YAML"),
    ("global:\n  collect_interval: 0.5s\n", 2, "at least 1s"),
    ("dashboards:\n  - {id: x, rows: nope}\n", 2, "dashboards[0]"),
    ("dashboards:\n  - no/such/*.yml\n", 2, "no file matches"),
])
def test_bad_config_names_file_line_and_problem(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "bad.yml")
    assert info.value.file == "bad.yml"
    assert info.value.line == line, str(info.value)
    assert words in str(info.value)


def test_every_problem_is_named_with_its_line_and_a_likely_spelling() -> None:
    text = ("global:\n  scrape_intervall: 5s\n"
            "scrape_configs:\n  - job_name: a\n    metrics_pth: /m\n"
            "    static_configs:\n      - targts: [x]\n"
            "storage:\n  retention: 40x\n  zzz: 1\n")
    with pytest.raises(ConfigError) as info:
        parse_config(text, "bad.yml")
    lines = str(info.value).splitlines()
    assert lines == [
        "bad.yml:2:21: global.scrape_intervall: unknown field; did you mean "
        "'scrape_interval'?",
        "bad.yml:5:18: scrape_configs.0.metrics_pth: unknown field; did you mean "
        "'metrics_path'?",
        "bad.yml:7:17: scrape_configs.0.static_configs.0.targts: unknown field; did you mean "
        "'targets'?",
        "bad.yml:9:14: storage.retention: not a valid duration: '40x' (expected e.g. 15s, "
        "1m30s, 2h)",
        "bad.yml:10:8: storage.zzz: unknown field (check its spelling and indentation)",
    ]


def test_missing_file_is_a_clean_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yml")


@pytest.mark.parametrize(("text", "seconds"), [("15s", 15), ("1m30s", 90), ("100ms", 0.1),
                                               ("2h", 7200), (3, 3)])
def test_durations(text, seconds) -> None:
    assert parse_duration_seconds(text) == pytest.approx(seconds)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_config_or_a_config_error(text: str) -> None:
    try:
        parse_config(text, "fuzz.yml")
    except ConfigError:
        pass


def test_check_config_command(tmp_path) -> None:
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text(GOOD)
    bad.write_text("global:\n  scrape_interval: soon\n")
    cmd = [sys.executable, "-m", "watchkeeper.cli.main", "check-config"]
    ok = subprocess.run([*cmd, str(good)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "SUCCESS" in ok.stdout, ok.stderr
    failed = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert f"{bad}:2:" in failed.stderr and "scrape_interval" in failed.stderr


def test_rule_files_are_checked_with_the_config(tmp_path) -> None:
    (tmp_path / "good.rules.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: sum(up)\n")
    (tmp_path / "bad.rules.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: sum(\n")
    good = tmp_path / "good.yml"
    good.write_text("rule_files: [good.rules.yml]\n")
    assert load_config(good).config.rule_files == ["good.rules.yml"]
    bad = tmp_path / "bad.yml"
    bad.write_text("global: {}\nrule_files: [bad.rules.yml]\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert info.value.line == 2 and "bad.rules.yml" in str(info.value)
