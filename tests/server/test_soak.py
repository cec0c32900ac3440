"""bench/soak.py in short: a minute of the same mixed load, scaled down for a shared CI
machine, asserting counts only (no timing): no 5xx, no acknowledged sample lost, and every
kind of load actually ran, and the server logged no error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.peer

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def test_a_minute_of_mixed_load_loses_nothing_and_never_answers_5xx(tmp_path) -> None:
    run = subprocess.run([sys.executable, str(SOAK), "--minutes", "1", "--targets", "10",
                          "--streams", "20", "--qps", "5", "--workdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=600, check=False)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["5xx"] == 0, run.stdout[-3000:]
    assert result["lost"] == 0, run.stdout[-3000:]
    assert result["log_errors"] == 0, run.stdout[-3000:]  # no part failing quietly
    assert result["pushed"] > 0 and result["queries"] > 0 and result["stream_messages"] > 0
    assert result["scrapes_stored"] > 0 and result["notifications_ok"] > 0
    assert run.returncode == 0, run.stdout[-3000:]
