import json
import subprocess
import sys

import psutil
from click.testing import CliRunner

from watchkeeper.cli.main import cli


def test_json_summary_has_every_section_with_sane_values():
    result = CliRunner().invoke(cli, ["stats", "--json", "--interval", "0.2"])
    assert result.exit_code == 0, result.output
    s = json.loads(result.output)
    assert 0.0 <= s["cpu"]["percent"] <= 100.0
    assert s["memory"]["total_bytes"] == psutil.virtual_memory().total
    assert "/" in {fs["mountpoint"] for fs in s["filesystems"]}
    assert s["disk_io"] and s["network"]
    assert all(v >= 0 for r in s["network"].values() for v in r.values())
    assert len(s["processes"]["by_cpu"]) == 5
    rss = [p["rss_bytes"] for p in s["processes"]["by_memory"]]
    assert rss == sorted(rss, reverse=True)


def test_busy_process_is_measured_and_ranked_by_cpu():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        result = CliRunner().invoke(cli, ["stats", "--json", "--interval", "0.5",
                                          "--top", "100000"])
    finally:
        busy.kill()
        busy.wait()
    ranked = json.loads(result.output)["processes"]["by_cpu"]
    cpu = [p["cpu_percent"] for p in ranked]
    assert cpu == sorted(cpu, reverse=True)
    (mine,) = [p for p in ranked if p["pid"] == busy.pid]
    # Other work shares the machine, so only "clearly busy", not "the busiest".
    assert mine["cpu_percent"] > 10


def test_table_view_names_every_section():
    result = CliRunner().invoke(cli, ["stats", "--interval", "0.1"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for heading in ("CPU", "Memory", "Swap", "Load", "Disk usage", "Disk I/O",
                    "Top processes by CPU", "Top processes by memory"):
        assert heading in result.output


def test_watch_refreshes_the_requested_number_of_times_as_json_lines():
    result = CliRunner().invoke(
        cli, ["stats", "--watch", "--json", "--interval", "0.1", "--count", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    assert all("cpu" in json.loads(line) for line in lines)


def test_watch_live_view_stops_after_count():
    result = CliRunner().invoke(cli, ["stats", "--watch", "--interval", "0.1", "--count", "2"])
    assert result.exit_code == 0, result.output
    assert "Memory" in result.output


def test_real_subprocess():
    out = subprocess.run([sys.executable, "-m", "watchkeeper", "stats", "--json",
                          "--interval", "0.1"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(out)["load"]["1m"] >= 0


def test_no_docker_means_containers_null_not_an_error(tmp_path):
    env = {"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"}
    result = CliRunner().invoke(cli, ["stats", "--json", "--interval", "0.1"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["containers"] is None
