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


def plant_events(store, ts):
    """A reload, a restart, an alert, a health check going down and a new error group around
    minute 400, each as the series that record them."""
    n, sec = len(ts), ts / 1000

    def put(labels, values, keep=None):
        keep = np.ones(n, bool) if keep is None else keep
        store.append_array(labels, ts[keep], np.asarray(values, float)[keep])

    put({"__name__": "process_start_time_seconds", "job": "api"},
        np.where(np.arange(n) < 400, sec[0] - 3600, sec[399] + 5))
    put({"__name__": "watchkeeper_config_last_reload_success_timestamp_seconds"},
        np.where(np.arange(n) < 395, sec[0] - 60, sec[395]))
    put({"__name__": "ALERTS", "alertname": "HighLatency", "alertstate": "firing"},
        np.ones(n), np.arange(n) >= 402)
    put({"__name__": "watchkeeper_health_status", "check": "db"},
        np.where(np.arange(n) < 405, 1.0, 0.0))
    put({"__name__": "watchkeeper_error_group_first_seen_timestamp_seconds",
         "error_group": "3f2a", "error_type": "KeyError"}, np.full(n, sec[410]),
        np.arange(n) >= 410)


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
        plant_events(store, ts)
    at = str(int(ts[400]) // 1000)
    res = CliRunner().invoke(cli, ["analyze", "changes", "--at", at, "--window", "100m",
                                   "--data", str(tmp_path / "d"), "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    latency = [r for r in body["changes"] if r["labels"].get("__name__") == "latency"]
    assert latency[0]["labels"]["route"] == "/r2"  # (the event series stepped too)
    sec = ts / 1000
    want = [("reload", "watchkeeper_config_last_reload_success_timestamp_seconds config reloaded",
             sec[395]),
            ("restart", 'process_start_time_seconds{job="api"} restarted', sec[399] + 5),
            ("alert", "HighLatency firing", sec[402]),
            ("health", "check db: healthy -> unhealthy", sec[405]),
            ("error_group", "new error group 3f2a (KeyError)", sec[410])]
    assert [(e["kind"], e["what"]) for e in body["events"]] == [w[:2] for w in want]
    for event, (_, _, t) in zip(body["events"], want, strict=True):
        # timestamps recorded as values are exact; the others are as precise as the grid
        assert 0 <= event["time"] - t <= (0 if event["kind"] in ("reload", "restart",
                                                                 "error_group") else 50)
    res = CliRunner().invoke(cli, ["analyze", "changes", "--at", at, "--window", "100m",
                                   "--data", str(tmp_path / "d")])
    assert "events in the window" in res.output and "HighLatency firing" in res.output
    res = CliRunner().invoke(cli, ["analyze", "changes", "--at", at, "--data",
                                   str(tmp_path / "d"), "--match", "latency{"])
    assert res.exit_code == 1 and "Error" in res.output
    res = CliRunner().invoke(cli, ["analyze", "capacity", "--data", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["analyze", "capacity", "--data", str(tmp_path / "nope")])
    assert res.exit_code == 1 and "no store" in res.output


def test_plan_prints_resources_hot_spots_and_hints(tmp_path):
    import json
    import time

    from watchkeeper.tsdb.store import Store

    now = int(time.time()) * 1000
    ts = np.arange(now - 2 * 86_400_000, now, 300_000, dtype=np.int64)
    k = np.arange(len(ts))
    days = (ts - ts[0]) / 86_400_000
    with Store.open(tmp_path / "d", background=False) as store:
        disk = {"mountpoint": "/data", "fstype": "xfs", "device": "sdb"}
        store.append_array({"__name__": "node_filesystem_size_bytes", **disk}, ts,
                           np.full(len(ts), 1e12))
        store.append_array({"__name__": "node_filesystem_avail_bytes", **disk}, ts,
                           1e12 - (5e11 + 5e10 * days))
        store.append_array({"__name__": "http_server_request_duration_seconds_sum",
                            "http_route": "/report"}, ts, 3.0 * k)
        store.append_array({"__name__": "http_server_request_duration_seconds_count",
                            "http_route": "/report"}, ts, 2.0 * k)
        for result, n in (("hit", 10), ("miss", 40)):
            store.append_array({"__name__": "cache_requests_total", "cache": "users",
                                "tier": "l2", "result": result}, ts, n * k.astype(float))
    res = CliRunner().invoke(cli, ["analyze", "plan", "--data", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert "disk" in res.output and "reaches 80 %" in res.output and "/report" in res.output
    assert "cache users (l2) hit 20 % of" in res.output
    res = CliRunner().invoke(cli, ["analyze", "plan", "--data", str(tmp_path / "d"), "--json",
                                   "--target", "0.9"])
    [disk] = json.loads(res.output)["resources"]
    assert disk["target"] == 0.9 and disk["growth_per_day"] > 4e10
    res = CliRunner().invoke(cli, ["analyze", "plan", "--data", str(tmp_path / "d"),
                                   "--target", "1.5"])
    assert res.exit_code == 2


def test_capacity_names_each_resource(tmp_path):
    import time

    from watchkeeper.tsdb.store import Store

    now = int(time.time()) * 1000
    ts = np.arange(now - 2 * 86_400_000, now, 300_000, dtype=np.int64)
    days = (ts - ts[0]) / 86_400_000
    fs = {"mountpoint": "/srv", "fstype": "ext4", "device": "sdb"}
    with Store.open(tmp_path / "d", background=False) as store:
        store.append_array({"__name__": "node_memory_MemTotal_bytes"}, ts, np.full(len(ts), 16e9))
        store.append_array({"__name__": "node_memory_MemAvailable_bytes"}, ts, 8e9 - 1e9 * days)
        store.append_array({"__name__": "node_filesystem_files", **fs}, ts, np.full(len(ts), 1e6))
        store.append_array({"__name__": "node_filesystem_files_free", **fs}, ts,
                           5e5 - 1e5 * days)
    res = CliRunner().invoke(cli, ["analyze", "capacity", "--data", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    inodes = next(line for line in lines if line.lstrip().startswith("inodes"))
    memory = next(line for line in lines if line.lstrip().startswith("memory"))
    assert "/srv" in inodes and "1e+05" in inodes  # inodes a day, not bytes
    assert "this host" in memory and "953.7 MiB" in memory  # 1e9 bytes a day
    assert lines.index(inodes) < lines.index(memory)  # three days left before six
