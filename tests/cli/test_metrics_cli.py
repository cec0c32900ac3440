import json
import subprocess
import sys

from click.testing import CliRunner

from watchkeeper.cli.main import cli
from watchkeeper.cli.metrics import escape_label_value, format_value


def _meminfo_total() -> int:
    with open("/proc/meminfo") as f:
        return int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) * 1024


def test_json_has_host_process_and_runtime_families():
    result = CliRunner().invoke(cli, ["metrics", "--json"])
    assert result.exit_code == 0, result.output
    families = {f["name"]: f for f in json.loads(result.output)["families"]}
    assert families["node_memory_MemTotal_bytes"]["samples"][0]["value"] == _meminfo_total()
    assert families["node_cpu_seconds"]["type"] == "counter"
    assert {"process_cpu_seconds", "python_info", "python_gc_collections"} <= set(families)


def test_filter_keeps_only_matching_families():
    result = CliRunner().invoke(cli, ["metrics", "--json", "--filter", "^node_load"])
    assert result.exit_code == 0, result.output
    names = [f["name"] for f in json.loads(result.output)["families"]]
    assert names == ["node_load1", "node_load5", "node_load15"]


def test_bad_filter_is_a_clear_error_not_a_traceback():
    result = CliRunner().invoke(cli, ["metrics", "--filter", "node_("])
    assert result.exit_code == 2
    assert "--filter" in result.output and "Traceback" not in result.output


def test_table_is_grouped_by_family():
    result = CliRunner().invoke(cli, ["metrics", "--filter", "^node_filesystem_size"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "node_filesystem_size_bytes gauge" in result.output
    assert 'mountpoint="/"' in result.output


def test_unreachable_url_is_a_clear_error(tmp_path):
    from peers import free_port

    url = f"http://127.0.0.1:{free_port()}/metrics"
    result = CliRunner().invoke(cli, ["metrics", "--url", url, "--timeout", "2"])
    assert result.exit_code == 1
    assert "cannot fetch" in result.output and "Traceback" not in result.output


def test_values_and_label_values_shown_as_the_text_format_writes_them():
    assert format_value(3.0) == "3"
    assert format_value(float("inf")) == "+Inf"
    assert format_value(0.25) == "0.25"
    assert escape_label_value('a"b\nc\\') == 'a\\"b\\nc\\\\'


def test_real_subprocess_prints_json():
    out = subprocess.run([sys.executable, "-m", "watchkeeper", "metrics", "--json",
                          "--filter", "^node_boot_time"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    (family,) = json.loads(out)["families"]
    assert family["name"] == "node_boot_time_seconds"
