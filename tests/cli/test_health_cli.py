"""`watchkeeper health`: table, JSON, live view, exit codes, config errors."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from watchkeeper.cli.health import health
from watchkeeper.cli.main import cli

WATCHKEEPER = Path(sys.executable).parent / "watchkeeper"


def config(tmp_path, *commands):
    """A config of command checks: (name, shell snippet, critical)."""
    lines = ["checks:"]
    for name, snippet, critical in commands:
        lines += ["  - type: command", f"    name: {name}",
                  f"    parameters: {{command: [sh, -c, {json.dumps(snippet)}],"
                  f" degraded_exit_codes: [1]}}",
                  f"    critical: {'true' if critical else 'false'}"]
    path = tmp_path / "health.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize(
    ("checks", "code", "word"),
    [
        ([("api", "echo up", True), ("cache", "exit 0", False)], 0, "healthy"),
        ([("api", "echo up", True), ("cache", "echo slow; exit 1", False)], 1, "degraded"),
        ([("api", "echo down; exit 2", True), ("cache", "exit 0", False)], 2, "unhealthy"),
        ([("api", "echo up", True), ("cache", "exit 2", False)], 1, "degraded"),
    ],
)
def test_exit_code_follows_the_overall_status(tmp_path, checks, code, word):
    result = CliRunner().invoke(health, ["--config", config(tmp_path, *checks)])
    assert result.exit_code == code, result.output
    assert f"health: {word}" in result.output
    for name, _, _ in checks:
        assert name in result.output


def test_table_shows_check_status_duration_and_details(tmp_path):
    path = config(tmp_path, ("api", "echo all fine", True), ("cache", "echo slow; exit 1", False))
    out = CliRunner().invoke(health, ["--config", path]).output
    api = next(line for line in out.splitlines() if "api" in line)
    assert "healthy" in api and " ms" in api and "all fine" in api
    cache = next(line for line in out.splitlines() if "cache" in line)
    assert "degraded" in cache and "non-critical" in cache


def test_json_is_the_health_document(tmp_path):
    path = config(tmp_path, ("api", "echo up", True), ("cache", "echo slow; exit 1", False))
    result = CliRunner().invoke(health, ["--config", path, "--json"])
    doc = json.loads(result.output)
    assert result.exit_code == 1
    assert doc["status"] == "warn"
    assert doc["checks"]["api:exitCode"][0]["status"] == "pass"
    assert doc["checks"]["cache:exitCode"][0]["output"].endswith("exited 1: slow")


def test_watch_runs_the_given_number_of_rounds(tmp_path):
    counter = tmp_path / "rounds"
    path = config(tmp_path, ("api", f"echo x >> {counter}", True))
    result = CliRunner().invoke(health, ["--config", path, "--watch", "--count", "3",
                                         "--interval", "0.1"])
    assert result.exit_code == 0, result.output
    assert counter.read_text().count("x") == 3
    assert "since" in result.output  # the live view shows how long each status has held
    json_watch = CliRunner().invoke(health, ["--config", path, "--watch", "--json",
                                             "--count", "2", "--interval", "0.1"])
    docs = [json.loads(line) for line in json_watch.output.splitlines()]
    assert [d["status"] for d in docs] == ["pass", "pass"]


def test_bad_config_names_the_file_and_line_and_exits_3(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent("""\
        checks:
          - type: tcp
            parameters: {host: 127.0.0.1, port: "x"}
        """))
    result = CliRunner().invoke(health, ["--config", str(path)])
    assert result.exit_code == 3
    assert f"{path}:3" in result.output
    assert "parameter 'port': expected an integer" in result.output
    assert "Traceback" not in result.output


def test_lazy_group_dispatches_to_health(tmp_path):
    path = config(tmp_path, ("api", "echo up", True))
    result = CliRunner().invoke(cli, ["health", "--config", path, "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["status"] == "pass"


def test_real_subprocess_with_default_checks():
    if not WATCHKEEPER.exists():
        pytest.skip("the watchkeeper console script is not installed in this environment")
    proc = subprocess.run([str(WATCHKEEPER), "health", "--json"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
    doc = json.loads(proc.stdout)
    assert {k.split(":")[0] for k in doc["checks"]} == {"disk", "memory", "cpu_load"}
    assert proc.returncode == {"pass": 0, "warn": 1, "fail": 2}[doc["status"]]
    table = subprocess.run([str(WATCHKEEPER), "health"], capture_output=True, text=True,
                           timeout=60)
    assert "disk" in table.stdout and "cpu_load" in table.stdout
    assert table.returncode in (0, 1, 2)


def test_real_subprocess_unhealthy_config_exits_2(tmp_path):
    if not WATCHKEEPER.exists():
        pytest.skip("the watchkeeper console script is not installed in this environment")
    path = config(tmp_path, ("api", "echo broken; exit 5", True))
    proc = subprocess.run([str(WATCHKEEPER), "health", "--config", path], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "unhealthy" in proc.stdout and "broken" in proc.stdout
