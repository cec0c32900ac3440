"""Host, file, process, command and Docker checks on this machine."""

import json
import os
import sqlite3
import sys

import pytest

from docker_engine import docker_engine
from watchkeeper.health import Runner, Status, create_check
from watchkeeper.health.config import default_checks


def run_one(check):
    return Runner([check]).run_sync()[0]


def test_disk_thresholds_decide_the_status(tmp_path):
    ok = run_one(create_check("disk", {"path": str(tmp_path), "degraded_used": 1.0,
                                       "unhealthy_used": 1.0}))
    assert ok.status is Status.HEALTHY
    assert ok.observed_unit == "percent" and 0 <= ok.observed_value <= 100
    # any used share is at least 0: a zero threshold makes the same disk unhealthy
    bad = run_one(create_check("disk", {"path": str(tmp_path), "unhealthy_used": 0.0}))
    assert bad.status is Status.UNHEALTHY
    free = run_one(create_check("disk", {"path": str(tmp_path), "degraded_used": 1.0,
                                         "unhealthy_used": 1.0,
                                         "degraded_free_bytes": 1 << 62}))
    assert free.status is Status.DEGRADED
    missing = run_one(create_check("disk", {"path": str(tmp_path / "nope")}))
    assert missing.status is Status.UNHEALTHY and "cannot stat" in missing.details


def test_memory_and_cpu_load_report_figures():
    memory = run_one(create_check("memory", {"degraded_used": 1.0, "unhealthy_used": 1.0}))
    assert memory.status is Status.HEALTHY and "available" in memory.details
    # degraded at any load, unhealthy at none: the figure, whatever the machine is doing
    load = run_one(create_check("cpu_load", {"degraded_per_cpu": 0.0, "unhealthy_per_cpu": None}))
    assert load.status is Status.DEGRADED and "per CPU" in load.details


def test_default_checks_are_disk_memory_and_cpu_load():
    assert [c.name for c in default_checks()] == ["disk", "memory", "cpu_load"]


def test_sqlite_file(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    ok = run_one(create_check("sqlite", {"path": str(path), "quick_check": True}))
    assert ok.status is Status.HEALTHY and "1 tables" in ok.details
    missing = run_one(create_check("sqlite", {"path": str(tmp_path / "none.db")}))
    assert missing.status is Status.UNHEALTHY and "does not exist" in missing.details
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    broken = run_one(create_check("sqlite", {"path": str(junk)}))
    assert broken.status is Status.UNHEALTHY and "not a database" in broken.details


def test_process_by_pid_file_and_by_name(tmp_path):
    pid_file = tmp_path / "app.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    assert run_one(create_check("process", {"pid_file": str(pid_file)})).status \
        is Status.HEALTHY
    pid_file.write_text("999999999\n")
    dead = run_one(create_check("process", {"pid_file": str(pid_file)}))
    assert dead.status is Status.UNHEALTHY and "is not running" in dead.details
    me = os.path.basename(sys.executable)
    assert run_one(create_check("process", {"process_name": me})).status is Status.HEALTHY
    nobody = run_one(create_check("process", {"process_name": "no-such-process-here"}))
    assert nobody.status is Status.UNHEALTHY and "expected at least 1" in nobody.details


def test_command_exit_codes():
    ok = run_one(create_check("command", {"command": ["true"]}))
    assert ok.status is Status.HEALTHY
    warn = run_one(create_check("command", {"command": "sh -c 'echo nearly full; exit 1'",
                                            "degraded_exit_codes": [1]}))
    assert warn.status is Status.DEGRADED and warn.details.endswith("exited 1: nearly full")
    fail = run_one(create_check("command", {"command": "sh -c 'exit 2'"}))
    assert fail.status is Status.UNHEALTHY
    absent = run_one(create_check("command", {"command": "/no/such/binary"}))
    assert absent.status is Status.UNHEALTHY and "cannot run" in absent.details


def test_a_hanging_command_is_killed_at_the_timeout():
    result = run_one(create_check("command", {"command": ["sleep", "30"]}, timeout=0.3))
    assert result.status is Status.UNHEALTHY and "timed out after 0.3 s" in result.details


def test_docker_without_a_daemon_is_degraded_not_crashed(tmp_path):
    result = run_one(create_check("docker", {"socket_path": str(tmp_path / "docker.sock")}))
    assert result.status is Status.DEGRADED
    assert "docker daemon not reachable" in result.details
    strict = run_one(create_check("docker", {"socket_path": str(tmp_path / "docker.sock"),
                                             "absent": "unhealthy"}))
    assert strict.status is Status.UNHEALTHY


def test_docker_counts_running_containers_and_reports_a_failing_ping(tmp_path):
    path = str(tmp_path / "docker.sock")
    listing = json.dumps([{"State": "running"}, {"State": "exited"}]).encode()
    answers = {"/_ping": (200, b"OK"), "/containers/json?all=1": (200, listing)}
    with docker_engine(path, answers):
        result = run_one(create_check("docker", {"socket_path": path}))
        assert result.status is Status.HEALTHY, result.details
        assert result.details == "docker answers; 1 of 2 containers running"
        answers["/_ping"] = (500, b"")
        assert run_one(create_check("docker", {"socket_path": path})).status is \
            Status.UNHEALTHY


@pytest.mark.parametrize("params", [{}, {"process_name": "a", "pid_file": "b"}])
def test_process_check_needs_exactly_one_target(params):
    with pytest.raises(ValueError, match="exactly one"):
        create_check("process", params)
