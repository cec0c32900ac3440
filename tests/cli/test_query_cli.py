import json
import threading
import time

import numpy as np
import pytest
import uvicorn
from click.testing import CliRunner

from peers import free_port
from watchkeeper.cli.main import cli
from watchkeeper.cli.query import sparkline
from watchkeeper.promql.http_api import create_app
from watchkeeper.tsdb.store import Store

T0 = 1_700_000_000


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    store = Store.open(path, background=False)
    ts = (T0 + np.arange(0, 3600, 15)) * 1000
    for job, slope in (("api", 2.0), ("web", 1.0)):
        store.append_array({"__name__": "requests_total", "job": job}, ts,
                           np.arange(len(ts), dtype=np.float64) * slope)
    store.close()
    return path


def _run(*args):
    return CliRunner().invoke(cli, ["query", *args])


def test_instant_query_json_is_the_api_response(data_dir):
    result = _run("rate(requests_total[5m])", "--time", str(T0 + 1800), "--data",
                  str(data_dir), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["status"] == "success" and body["data"]["resultType"] == "vector"
    rates = {s["metric"]["job"]: float(s["value"][1]) for s in body["data"]["result"]}
    assert rates["api"] == pytest.approx(2 / 15) and rates["web"] == pytest.approx(1 / 15)


def test_instant_query_table_shows_series(data_dir):
    result = _run("requests_total", "--time", str(T0 + 60), "--data", str(data_dir))
    assert result.exit_code == 0, result.output
    assert 'requests_total{job="api"}' in result.output and "8" in result.output


def test_range_query_table_has_a_sparkline(data_dir):
    result = _run("requests_total", "--start", str(T0), "--end", str(T0 + 3000),
                  "--step", "5m", "--data", str(data_dir))
    assert result.exit_code == 0, result.output
    assert "▁" in result.output and "█" in result.output
    assert "11" in result.output  # points per series


def test_errors_are_reported_without_traceback(data_dir):
    result = _run("sum(", "--data", str(data_dir))
    assert result.exit_code == 1
    assert "bad_data: 1:5: parse error" in result.output
    assert "Traceback" not in result.output
    assert _run("up").exit_code == 2  # neither --data nor --url


def test_sparkline_scales_between_min_and_max():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5]) == "▁▁"
    assert sparkline([1, float("nan"), 2]) == "▁ █"


def test_url_asks_a_prometheus_compatible_server(data_dir):
    store = Store.open(data_dir, background=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        result = _run("sum(requests_total)", "--time", str(T0 + 60), "--url",
                      f"http://127.0.0.1:{port}", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["data"]["result"][0]["value"][1] == "12"  # 8 + 4
        result = _run("sum(requests_total)", "--start", str(T0), "--end", str(T0 + 120),
                      "--step", "60", "--url", f"http://127.0.0.1:{port}")
        assert result.exit_code == 0, result.output
        assert "{}" in result.output
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
