import csv

import numpy as np
from click.testing import CliRunner

from watchkeeper.cli.main import cli


def write_csv(path, values, header="timestamp,value"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write(header + "\n")
        for i, v in enumerate(values):
            f.write(f"2026-01-01 {i // 60:02d}:{i % 60:02d}:00,{v}\n")


def test_anomalies_scores_every_csv_at_the_same_relative_path(tmp_path):
    x = np.random.default_rng(0).normal(10, 1, 600)
    x[500] += 12
    write_csv(tmp_path / "in" / "a" / "one.csv", x)
    write_csv(tmp_path / "in" / "two.csv", x[:100])
    res = CliRunner().invoke(cli, ["analyze", "anomalies", "--input-dir", str(tmp_path / "in"),
                                   "--output-dir", str(tmp_path / "out"), "-j", "1"])
    assert res.exit_code == 0, res.output
    assert "700 rows in 2 files" in res.output
    with open(tmp_path / "out" / "a" / "one.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 600 and rows[0]["timestamp"] == "2026-01-01 00:00:00"
    scores = [float(r["anomaly_score"]) for r in rows]
    assert scores[500] >= 0.5
    assert sum(s >= 0.5 for s in scores[:500]) <= 1  # a new record early on may page once


def test_bad_input_names_the_file_and_line(tmp_path):
    write_csv(tmp_path / "in" / "bad.csv", ["1", "2", "oops"])
    res = CliRunner().invoke(cli, ["analyze", "anomalies", "--input-dir", str(tmp_path / "in"),
                                   "--output-dir", str(tmp_path / "out"), "-j", "1"])
    assert res.exit_code == 1
    assert "bad.csv:4" in res.output and "'oops' is not a number" in res.output
    write_csv(tmp_path / "in2" / "h.csv", ["1"], header="time,v")
    res = CliRunner().invoke(cli, ["analyze", "anomalies", "--input-dir", str(tmp_path / "in2"),
                                   "--output-dir", str(tmp_path / "out2")])
    assert res.exit_code == 1 and "no timestamp and value columns" in res.output
    res = CliRunner().invoke(cli, ["analyze", "anomalies", "--input-dir", str(tmp_path / "out2"),
                                   "--output-dir", str(tmp_path / "o")])
    assert res.exit_code != 0


def test_changes_and_capacity_read_the_local_store(tmp_path):
    import json
    import time

    from watchkeeper.tsdb.store import Store

    now = int(time.time()) * 1000
    ts = np.arange(now - 600 * 60_000, now, 60_000, dtype=np.int64)
    with Store.open(tmp_path / "d", background=False) as store:
        for i in range(5):
            y = 100 + np.random.default_rng(i).normal(0, 2, len(ts))
            if i == 2:
                y[400:] += 40
            store.append_array({"__name__": "latency", "route": f"/r{i}"}, ts, y)
    at = str(int(ts[400]) // 1000)
    res = CliRunner().invoke(cli, ["analyze", "changes", "--at", at, "--window", "100m",
                                   "--data", str(tmp_path / "d"), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows[0]["labels"]["route"] == "/r2"
    res = CliRunner().invoke(cli, ["analyze", "changes", "--at", at, "--data",
                                   str(tmp_path / "d"), "--match", "latency{"])
    assert res.exit_code == 1 and "Error" in res.output
    res = CliRunner().invoke(cli, ["analyze", "capacity", "--data", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["analyze", "capacity", "--data", str(tmp_path / "nope")])
    assert res.exit_code == 1 and "no store" in res.output
