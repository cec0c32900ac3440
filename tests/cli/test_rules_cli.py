"""``watchkeeper rules list`` says where each rule came from; ``watchkeeper export rules``
writes the effective rules as a file promtool loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from peers import require_binary


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "watchkeeper.cli.main", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "mine.yml").write_text(
        "groups:\n  - name: app\n    rules:\n      - alert: AppDown\n"
        "        expr: up{job=\"app\"} == 0\n        for: 1m\n")
    path = tmp_path / "watchkeeper.yml"
    path.write_text("rule_files: [mine.yml]\n"
                    "default_rules:\n  disable: [HostLoadAboveCores]\n"
                    "  override:\n    TargetDown: {for: 30s, labels: {severity: critical}}\n")
    return path


def test_list_shows_every_rule_with_its_source(config: Path) -> None:
    result = run("rules", "list", "-c", str(config), "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["TargetDown"]["source"] == "pack defaults"
    assert (rows["TargetDown"]["for"], rows["TargetDown"]["severity"]) == ("30s", "critical")
    assert rows["AppDown"]["source"] == str(config.parent / "mine.yml")
    assert "HostLoadAboveCores" not in rows and "HostFilesystemAlmostFull" in rows


def test_list_without_config_shows_the_defaults_as_a_table() -> None:
    result = run("rules", "list")
    assert result.returncode == 0, result.stderr
    assert "HealthCheckFailing" in result.stdout and "pack defaults" in result.stdout
    packs = run("rules", "packs")
    assert "defaults" in packs.stdout and "enabled (default)" in packs.stdout


def test_a_bad_override_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("default_rules:\n  disable: [NoSuchRule]\n")
    result = run("rules", "list", "-c", str(path))
    assert result.returncode == 1
    assert "NoSuchRule" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.peer
def test_export_rules_is_loaded_by_promtool(config: Path, tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    out = tmp_path / "effective.yml"
    result = run("export", "rules", "-c", str(config), "-o", str(out))
    assert result.returncode == 0, result.stderr
    checked = subprocess.run([promtool, "check", "rules", str(out)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = out.read_text()
    assert "AppDown" in text and "HostLoadAboveCores" not in text and "for: 30s" in text
