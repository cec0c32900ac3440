"""``watchkeeper serve`` refuses bad input at startup with one clear line, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from peers import free_port

SERVE = [sys.executable, "-m", "watchkeeper.cli.main", "serve"]


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=60,
                          check=False, cwd=cwd)


def test_bad_config_names_file_and_line(tmp_path) -> None:
    config = tmp_path / "wk.yml"
    config.write_text("scrape_configs:\n  - job_name: a\n    scrape_timeout: later\n")
    result = run("--config", str(config))
    assert result.returncode == 2
    assert f"{config}:3:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [("--listen", "nowhere"), ("--collect-interval", "0.2")])
def test_bad_overrides_are_refused(tmp_path, args) -> None:
    result = run(*args, "--data", str(tmp_path / "d"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_data_directory_in_use_is_a_clean_error(tmp_path) -> None:
    from watchkeeper.tsdb import Store

    with Store.open(tmp_path / "d", background=False):
        result = run("--data", str(tmp_path / "d"), "--listen", f"127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "cannot open the store" in result.stderr and "Traceback" not in result.stderr
