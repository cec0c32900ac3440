"""Shared state in a real PostgreSQL for servers that notify directly: one leader by advisory
lock (it moves within 5 s when the leader is killed), and silences, thresholds,
acknowledgements and the notification log seen by every server."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from receiver_server import WebhookReceiver
from trigger_target import ALERTS, Target, alert_rules

from peers import free_port, require_service
from watchkeeper.alerting.shared_state import SharedState
from watchkeeper.alerting.shared_stores import (
    SharedAckHistory,
    SharedSilenceStore,
    SharedThresholdStore,
)
from watchkeeper.alerting.silences import Silence
from watchkeeper.alerting.state import FIRING, PENDING, Alert, StateChange
from watchkeeper.alerting.thresholds import Threshold
from watchkeeper.tsdb.matchers import Matcher

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))
from serve_process import ServeProcess

pytestmark = pytest.mark.peer
BASE = "postgresql://postgres@{}:{}/test"


@pytest.fixture
def database():
    """A schema of its own in the test database (dropped afterwards), and a lock key no
    other test uses: (url, lock key)."""
    host, port = require_service("postgres")
    base = BASE.format(host, port)
    schema = f"wk_shared_{random.getrandbits(40):x}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}", random.getrandbits(40)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _wait(probe, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)
    return result


def test_one_leader_and_state_every_server_sees(database, tmp_path) -> None:
    url, key = database
    a, b = SharedState(url, key, poll=0.2), SharedState(url, key, poll=0.2)
    changed: list[str] = []
    b.on_change["thresholds"] = lambda: changed.append("thresholds")
    try:
        a.start()
        b.start()
        assert (a.is_leader, b.is_leader) == (True, False)
        assert changed == ["thresholds"]  # the first answer reloads everything
        changed.clear()

        silences_a, silences_b = SharedSilenceStore(a), SharedSilenceStore(b)
        now = int(time.time() * 1000)
        silences_a.put(Silence("s1", [Matcher("alertname", "=", "DiskFull")], now - 1000,
                               now + 3_600_000, "ops", "maintenance", now))
        _wait(lambda: silences_b.muted_by({"alertname": "DiskFull"}, now) == ["s1"])

        SharedThresholdStore(a).put(Threshold(name="cpu", expr="cpu_busy", warning=80,
                                              critical=95), "ops")
        assert [t.name for t in SharedThresholdStore(b).list()] == ["cpu"]
        _wait(lambda: changed == ["thresholds"])  # b recompiles its rules

        a.log_sent("hook/webhook/0", "{}:{alertname=\"X\"}", ["f1"], [], 123.0)
        assert b.last_sent("hook/webhook/0", "{}:{alertname=\"X\"}") == ({"f1"}, set(), 123.0)

        history_a = SharedAckHistory(tmp_path / "a.db", a)
        history_b = SharedAckHistory(tmp_path / "b.db", b)
        alert = Alert({"alertname": "X", "host": "h"}, {}, 1.0, FIRING, now)
        for history in (history_a, history_b):
            history.record([StateChange("X", alert, PENDING, FIRING, now)])
        [incident_a] = history_a.list()
        history_a.acknowledge(incident_a["id"], "alice", "on it")
        _wait(lambda: history_b.list()[0]["acked_by"] == "alice")
        history_a.close()
        history_b.close()
    finally:
        a.close()
        b.close()


def test_broken_connections_are_opened_again(database) -> None:
    """The database restarting (here: both sessions terminated) costs one poll, not the
    shared state: queries reconnect, and the lock is taken again."""
    url, key = database
    state = SharedState(url, key, poll=0.2)
    try:
        state.start()
        assert state.is_leader
        pids = (state.db.info.backend_pid, state._leader_conn.info.backend_pid)
        with psycopg.connect(BASE.format(*require_service("postgres")),
                             autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert state.execute("SELECT 1") == [(1,)]
        _wait(lambda: state.transitions >= 3 and state.is_leader)  # lost, then led again
    finally:
        state.close()


def test_a_database_down_at_start_delays_notifying_not_alerting(tmp_path) -> None:
    """Unreachable at start: the alerting service still evaluates and serves its API; it
    only does not lead (so sends nothing) until the database answers."""
    from watchkeeper.alerting.service import AlertingService
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb import Store

    store = Store.open(tmp_path / "data", background=False)
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/test?connect_timeout=1"
    service = AlertingService(store, Engine(store), {
        "shared_state": {"url": closed, "poll": 0.2}}, tmp_path / "alerting")
    try:
        service.start()
        assert not service.shared.is_leader
        assert service.silences.list() == [] and service.thresholds.rule_group().rules == []
    finally:
        service.stop()
        store.close()


LEADER = """
import sys, time
from watchkeeper.alerting.shared_state import SharedState
state = SharedState(sys.argv[1], int(sys.argv[2]), poll=0.2)
state.start()
print("leader" if state.is_leader else "follower", flush=True)
time.sleep(120)
"""


def test_leadership_moves_within_5_s_of_a_kill_9(database) -> None:
    url, key = database
    child = subprocess.Popen([sys.executable, "-c", LEADER, url, str(key)],
                             stdout=subprocess.PIPE, text=True,
                             env={"PYTHONPATH": str(Path(__file__).parents[2] / "src")})
    follower = SharedState(url, key, poll=0.2)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "leader"
        follower.start()
        assert not follower.is_leader
        child.kill()  # kill -9: no goodbye to PostgreSQL
        killed = time.monotonic()
        child.wait(10)
        _wait(lambda: follower.is_leader, timeout=10)
        moved = time.monotonic() - killed
        print(f"leadership moved {moved:.2f} s after the kill")
        assert moved < 5.0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        follower.close()


def _groups(hook) -> Counter:
    return Counter(body["groupLabels"].get("alertname", "") for body in list(hook.bodies))


def _leads(server) -> bool:
    lines = server.client.get("/metrics").text.splitlines()
    return "watchkeeper_notification_leader 1.0" in lines


def test_two_servers_notify_once_and_the_survivor_takes_over(database, tmp_path) -> None:
    """Two `watchkeeper serve` with one config and a shared PostgreSQL, notifying a webhook
    directly: each alert group once; after a kill -9 of the leader the other notifies a new
    alert and nothing the old leader had sent."""
    url, key = database
    hook, target = WebhookReceiver(), Target()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                   "collect_interval": "1s"},
        "collect_host": False, "default_rules": {"enabled": False},
        "web": {"mcp": {"enabled": False}},  # not needed here: a faster start
        "scrape_configs": [{"job_name": "app",
                            "static_configs": [{"targets": [target.address]}]}],
        "rule_files": [str(alert_rules(tmp_path / "rules.yml"))],
        "alerting": {
            "shared_state": {"url": url, "lock_key": key, "poll": 0.2},
            "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "1s",
                      "group_interval": "5m", "repeat_interval": "1h"},
            "receivers": [{"name": "hook", "webhook_configs": [
                {"url": hook.url, "send_resolved": False}]}]},
    }
    pair = [ServeProcess(tmp_path / name, config) for name in ("a", "b")]
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda s: s.start(timeout=120), pair))  # a loaded machine is slow
        _wait(lambda: set(ALERTS) <= set(_groups(hook)), 60)
        time.sleep(2)  # a second sender would have sent by now
        assert all(n == 1 for n in _groups(hook).values()), _groups(hook)
        leader = pair[0].wait_until(lambda: [s for s in pair if _leads(s)], 10, "a leader")
        assert len(leader) == 1
        survivor = pair[1] if leader[0] is pair[0] else pair[0]
        leader[0].kill9()
        target.failover = 1
        _wait(lambda: "HaFailover" in _groups(hook), 30)
        survivor.wait_until(lambda: _leads(survivor), 10, "the survivor to lead")
        time.sleep(2)
        assert all(n == 1 for n in _groups(hook).values()), _groups(hook)
    finally:
        for s in pair:
            s.stop()
        target.close()
        hook.close()
