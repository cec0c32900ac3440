"""What `watchkeeper query` shows a person at a terminal, and that any expression is taken."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from terminal import run_in_pty

from watchkeeper.cli.main import cli
from watchkeeper.cli.termchart import chart, legend
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


def _json(*args):
    result = CliRunner().invoke(cli, ["query", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("expr", ["-requests_total", "-1", "- sum(requests_total)",
                                  "-rate(requests_total[5m])"])
def test_an_expression_starting_with_a_minus_is_the_expression(data_dir, expr):
    at = str(T0 + 600)
    body = _json(expr, "--time", at, "--data", str(data_dir))
    assert body["status"] == "success"
    # the same with the options first, and with an explicit --
    assert _json("--time", at, "--data", str(data_dir), expr) == body
    assert _json("--time", at, "--data", str(data_dir), "--", expr) == body


def test_a_negated_expression_negates(data_dir):
    body = _json("-sum(requests_total)", "--time", str(T0 + 60), f"--data={data_dir}")
    assert body["data"]["result"][0]["value"][1] == "-12"


def test_an_unknown_option_after_the_expression_is_still_an_error(data_dir):
    result = CliRunner().invoke(cli, ["query", "up", "--data", str(data_dir), "--bogus"])
    assert result.exit_code == 2 and "--bogus" in result.output


def test_range_query_on_a_terminal_draws_a_chart_per_series(data_dir):
    code, shown, _ = run_in_pty("query", "requests_total", "--start", str(T0), "--end",
                                str(T0 + 3000), "--step", "60", "--data", str(data_dir),
                                "--legend", "job {{job}}")
    assert code == 0, shown
    assert "job api" in shown and "job web" in shown
    assert "█" in shown and "┤" in shown
    assert "min 0  max 400  last 400" in shown  # api: 2 per 15 s over 3000 s
    assert "min 0  max 200  last 200" in shown
    assert "┏" not in shown and "━" not in shown  # no table


def test_table_and_pipes_give_the_table(data_dir):
    args = ("query", "requests_total", "--start", str(T0), "--end", str(T0 + 3000),
            "--step", "60", "--data", str(data_dir))
    code, shown, _ = run_in_pty(*args, "--table")
    assert code == 0 and "trend" in shown and "┤" not in shown
    code, _, piped = run_in_pty(*args, stdout_pipe=True)
    assert code == 0 and "trend" in piped and "┤" not in piped


def test_chart_scales_between_min_and_max():
    rows = chart([0, 1, 2, 3], width=4, height=2)
    assert rows == ["  ▃█", "▁▆██"]
    assert chart([5, 5, 5], height=1) == ["▁▁▁"]
    assert chart([float("nan")], height=2) == ["", ""]
    assert legend({"__name__": "x", "cpu": "0", "mode": "idle"}, "{{cpu}} {{mode}}") == "0 idle"
    assert legend({"__name__": "x", "a": "1"}) == 'x{a="1"}'
