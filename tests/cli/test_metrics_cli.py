import http.server
import json
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from peers import free_port, require_binary
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


def test_unreachable_url_is_a_clear_error():
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


class _Exposition(http.server.BaseHTTPRequestHandler):
    """Serves whatever body and Content-Type the test put on the server."""

    def do_GET(self) -> None:
        body, content_type = self.server.payload  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def exposition_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Exposition)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_url_in_openmetrics_is_parsed_by_content_type(exposition_server):
    exposition_server.payload = (
        b"# TYPE jobs counter\n# HELP jobs Jobs done.\njobs_total{queue=\"a\"} 7\n"
        b"# EOF\n", "application/openmetrics-text; version=1.0.0; charset=utf-8")
    url = f"http://127.0.0.1:{exposition_server.server_port}/metrics"
    result = CliRunner().invoke(cli, ["metrics", "--url", url, "--json"])
    assert result.exit_code == 0, result.output
    (family,) = json.loads(result.output)["families"]
    assert (family["name"], family["type"]) == ("jobs", "counter")
    assert family["samples"][0] == {"name": "jobs_total", "labels": {"queue": "a"}, "value": 7}


def test_url_with_invalid_exposition_names_the_line(exposition_server):
    exposition_server.payload = (b"ok 1\nbroken{ 2\n", "text/plain; version=0.0.4")
    url = f"http://127.0.0.1:{exposition_server.server_port}/metrics"
    result = CliRunner().invoke(cli, ["metrics", "--url", url])
    assert result.exit_code == 1
    assert "not valid exposition" in result.output and "2" in result.output
    assert "Traceback" not in result.output


@pytest.mark.peer
def test_url_reads_a_real_node_exporter():
    binary = require_binary("prometheus-node-exporter")
    port = free_port()
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        for _ in range(100):
            result = CliRunner().invoke(cli, ["metrics", "--url", url, "--json",
                                              "--filter", "^node_(load1|cpu_seconds)$"])
            if result.exit_code == 0:
                break
            time.sleep(0.1)
        assert result.exit_code == 0, result.output
        families = {f["name"]: f for f in json.loads(result.output)["families"]}
        assert set(families) == {"node_load1", "node_cpu_seconds"}
        assert {s["labels"]["mode"] for s in families["node_cpu_seconds"]["samples"]} >= {
            "user", "system", "idle"}
    finally:
        proc.terminate()
        proc.wait(10)
