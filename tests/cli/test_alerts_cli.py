"""``watchkeeper alerts`` on a data directory: list, history, ack, resolve, silences."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner

from watchkeeper.alerting.service import AlertingService
from watchkeeper.alerting.thresholds import Threshold
from watchkeeper.cli.alerts import alerts
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store


def make_data(tmp_path: Path) -> Path:
    """A data directory with one firing and one resolved incident."""
    store = Store.open(tmp_path / "data", background=False)
    service = AlertingService(store, Engine(store), {}, tmp_path / "data-alerting")
    service.thresholds.put(Threshold("disk", "disk_used_percent", critical=95), "setup")
    service.thresholds_changed()
    now = int(time.time() * 1000) - 60_000
    for host, values in (("a", [97, 97]), ("b", [97, 10])):
        for i, v in enumerate(values):
            store.append({"__name__": "disk_used_percent", "host": host}, now + i * 10_000, v)
    store.commit()
    service.evaluator.evaluate_all(now)
    service.evaluator.evaluate_all(now + 10_000)
    service.stop()
    store.close()
    return tmp_path / "data"


def run(data: Path, *args: str):
    return CliRunner().invoke(alerts, ["--data", str(data), *args], catch_exceptions=False)


def test_list_shows_open_alerts_only(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    rows = json.loads(run(data, "list", "--json").output)
    assert [(r["labels"]["host"], r["state"]) for r in rows] == [("a", "firing")]
    table = run(data).output
    assert "firing" in table and "ThresholdDisk" in table


def test_history_filters_and_ack_resolve(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    rows = json.loads(run(data, "history", "--json", "--state", "resolved").output)
    assert [r["labels"]["host"] for r in rows] == ["b"]
    rows = json.loads(run(data, "history", "--json", "--match", 'host="a"').output)
    [firing] = rows
    result = run(data, "ack", str(firing["id"]), "--by", "dana", "-m", "on it")
    assert result.exit_code == 0 and "acknowledged by dana" in result.output
    result = run(data, "resolve", str(firing["id"]), "--by", "dana")
    assert result.exit_code == 0
    assert json.loads(run(data, "list", "--json").output) == []
    result = CliRunner().invoke(alerts, ["--data", str(data), "ack", "999"])
    assert result.exit_code == 1 and "no incident 999" in result.output


def test_silence_add_list_expire(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    result = run(data, "silence", "add", "alertname=ThresholdDisk", 'host=~"a|b"',
                 "--duration", "2h", "-m", "disk swap", "--by", "erin")
    assert result.exit_code == 0, result.output
    silence_id = result.output.strip()
    listed = run(data, "silence", "list").output
    assert silence_id in listed and "active" in listed and 'host=~"a|b"' in listed
    assert run(data, "silence", "expire", silence_id).exit_code == 0
    assert run(data, "silence", "list").output.strip() == "no silences"
    bad = CliRunner().invoke(alerts, ["--data", str(data), "silence", "add", "bad matcher",
                                      "-m", "x"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_the_same_commands_work_against_a_server(tmp_path: Path) -> None:
    import threading

    import uvicorn
    from starlette.applications import Starlette

    from peers import free_port

    data = make_data(tmp_path)
    store = Store.open(data, background=False)
    service = AlertingService(store, Engine(store), {}, tmp_path / "data-alerting")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=service.routes()), host="127.0.0.1",
                                           port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"

        def remote(*args: str):
            return CliRunner().invoke(alerts, ["--url", url, *args], catch_exceptions=False)

        [row] = json.loads(remote("list", "--json").output)
        assert row["labels"]["host"] == "a"
        assert "acknowledged by frank" in remote("ack", str(row["id"]), "--by", "frank").output
        added = remote("silence", "add", "host=a", "-m", "remote", "--by", "frank")
        assert added.exit_code == 0
        assert added.output.strip() in remote("silence", "list").output
        missing = CliRunner().invoke(alerts, ["--url", url, "resolve", "999"])
        assert missing.exit_code == 1 and "no incident 999" in missing.output
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.stop()
        store.close()
