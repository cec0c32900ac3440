"""``watchkeeper check-rules`` answers as ``promtool check rules`` does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "alerting" / "fixtures"


def run(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "watchkeeper.cli.main", "check-rules",
                           *map(str, files)], capture_output=True, text=True, timeout=60)


def test_good_files_succeed_with_rule_counts() -> None:
    result = run(FIXTURES / "good" / "app.yml")
    assert result.returncode == 0, result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


def test_a_bad_file_fails_naming_file_line_and_rule() -> None:
    bad = FIXTURES / "bad" / "bad_label_name.yml"
    result = run(FIXTURES / "good" / "app.yml", bad)
    assert result.returncode == 1
    assert f'{bad}: 4:9: group "g", rule 1, "A": invalid label name: bad-label' in result.stderr


def test_missing_file_fails_cleanly() -> None:
    result = run(Path("/nonexistent/rules.yml"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
