import json
import subprocess

import numpy as np
from click.testing import CliRunner

from peers import require_binary
from watchkeeper.cli.main import cli
from watchkeeper.tsdb.store import Store

SOURCE = """\
# TYPE http_requests counter
# HELP http_requests Requests served.
http_requests_total{code="200",path="/a b"} 10 1700000000.0
http_requests_total{code="200",path="/a b"} 12 1700000015.5
http_requests_total{code="500",path="/x"} 1 1700000000
# TYPE temp gauge
temp{room="k\\"itchen"} 21.125 1700000000.001
temp{room="k\\"itchen"} NaN 1700000015
temp{room="k\\"itchen"} -Inf 1700000030
temp{room="k\\"itchen"} 0.1 1700000045
# TYPE lat histogram
lat_bucket{le="0.5"} 1 1700000000
lat_bucket{le="+Inf"} 2 1700000000
lat_count 2 1700000000
lat_sum 0.7 1700000000
# EOF
"""


def samples(path) -> dict[str, tuple[list[int], list[int]]]:
    with Store.open(path, background=False) as store:
        return {str(d.labels): (d.timestamps.tolist(), d.values.view(np.int64).tolist())
                for d in store.select([])}


def run(*args: str):
    result = CliRunner().invoke(cli, ["tsdb", *args])
    return result


def test_import_export_import_gives_the_same_samples(tmp_path):
    src = tmp_path / "in.om"
    src.write_text(SOURCE)
    result = run("import", str(src), "--data", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    assert "imported 11 samples of 7 series" in result.output
    exported = run("export", "--data", str(tmp_path / "a"))
    assert exported.exit_code == 0, exported.output
    assert "temp{room=\"k\\\"itchen\"} 21.125 1700000000.001\n" in exported.output
    assert "http_requests_total{code=\"200\",path=\"/a b\"} 12.0 1700000015.5\n" in exported.output
    assert exported.output.endswith("# EOF\n")
    (tmp_path / "out.om").write_text(exported.output)
    again = run("import", str(tmp_path / "out.om"), "--data", str(tmp_path / "b"))
    assert again.exit_code == 0, again.output
    first, second = samples(tmp_path / "a"), samples(tmp_path / "b")
    assert first == second
    assert len(first) == 7


def test_export_match_and_time_range(tmp_path):
    src = tmp_path / "in.om"
    src.write_text(SOURCE)
    run("import", str(src), "--data", str(tmp_path / "a"))
    out = run("export", "--data", str(tmp_path / "a"), "--match", 'temp{room=~"k.*"}',
              "--start", "1700000010", "--end", "2023-11-14T22:13:50Z").output
    lines = [x for x in out.splitlines() if not x.startswith("#")]
    assert lines == ['temp{room="k\\"itchen"} NaN 1700000015',
                     'temp{room="k\\"itchen"} -Inf 1700000030']


def test_stats_json(tmp_path):
    src = tmp_path / "in.om"
    src.write_text(SOURCE)
    run("import", str(src), "--data", str(tmp_path / "a"))
    result = run("stats", "--data", str(tmp_path / "a"), "--json")
    figures = json.loads(result.output)
    assert figures["series"] == 7 and figures["samples"] == 11
    assert figures["top_metrics"]["http_requests_total"] == 2
    assert figures["min_time_ms"] == 1_700_000_000_000
    assert figures["max_time_ms"] == 1_700_000_045_000
    assert figures["health"]["status"] == "ok"
    assert figures["bytes_on_disk"] > 0


def test_bad_input_is_a_clear_error_naming_the_line(tmp_path):
    src = tmp_path / "bad.om"
    src.write_text("# TYPE a gauge\na 1 1700000000\na{ 2 1700000001\n# EOF\n")
    result = run("import", str(src), "--data", str(tmp_path / "a"))
    assert result.exit_code == 1
    assert "line 3" in result.output and "Traceback" not in result.output


def test_missing_timestamp_and_missing_store_are_clear_errors(tmp_path):
    src = tmp_path / "nots.om"
    src.write_text("# TYPE a gauge\na 1\n# EOF\n")
    result = run("import", str(src), "--data", str(tmp_path / "a"))
    assert result.exit_code == 1 and "no timestamp" in result.output
    result = run("stats", "--data", str(tmp_path / "nothing"))
    assert result.exit_code == 1 and "no store" in result.output


def test_foreign_data_directory_is_refused(tmp_path):
    (tmp_path / "prom").mkdir()
    (tmp_path / "prom" / "chunks_head").mkdir()
    src = tmp_path / "in.om"
    src.write_text(SOURCE)
    result = run("import", str(src), "--data", str(tmp_path / "prom"))
    assert result.exit_code == 1 and "refusing" in result.output


def test_promtool_backfills_our_export(tmp_path):
    promtool = require_binary("promtool")
    src = tmp_path / "in.om"
    src.write_text(SOURCE)
    run("import", str(src), "--data", str(tmp_path / "a"))
    (tmp_path / "out.om").write_text(run("export", "--data", str(tmp_path / "a")).output)
    proc = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics",
                           str(tmp_path / "out.om"), str(tmp_path / "blocks")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
