"""Built-in checks against the real services of this machine, right and wrong."""

import sys

import pytest

from peers import free_port, require_service
from watchkeeper.health import Runner, Status, create_check


def run_one(check):
    return Runner([check]).run_sync()[0]


def test_postgres_healthy_with_connection_usage():
    host, port = require_service("postgres")
    result = run_one(create_check("postgres", {
        "host": host, "port": port, "user": "postgres", "dbname": "test",
        "check_connections": True, "check_replication": True}))
    assert result.status is Status.HEALTHY, result.details
    assert "PostgreSQL" in result.details and "connections" in result.details
    assert result.observed_unit == "percent" and result.component_type == "datastore"
    assert "primary (no replication lag)" in result.details
    busy = run_one(create_check("postgres", {
        "host": host, "port": port, "user": "postgres", "dbname": "test",
        "check_connections": True, "degraded_connections": 0.0}))
    assert busy.status is Status.DEGRADED  # at least our own connection is in use


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({"dbname": "no_such_db"}, 'database "no_such_db" does not exist'),
     ({"user": "no_such_role"}, 'role "no_such_role" does not exist')],
)
def test_postgres_wrong_database_or_user_is_unhealthy_and_says_why(params, fragment):
    host, port = require_service("postgres")
    result = run_one(create_check("postgres", {"host": host, "port": port, "user": "postgres",
                                               "dbname": "test", **params}))
    assert result.status is Status.UNHEALTHY
    assert result.details.startswith("cannot connect to PostgreSQL")
    assert fragment in result.details


def test_mariadb_healthy_and_wrong_database_and_password():
    host, port = require_service("mariadb")
    ok = run_one(create_check("mysql", {"host": host, "port": port, "database": "test",
                                        "check_connections": True}))
    assert ok.status is Status.HEALTHY, ok.details
    wrong_db = run_one(create_check("mysql", {"host": host, "port": port,
                                              "database": "no_such_db"}))
    assert wrong_db.status is Status.UNHEALTHY
    assert "Unknown database 'no_such_db'" in wrong_db.details
    wrong_pw = run_one(create_check("mysql", {"host": host, "port": port, "database": "test",
                                              "password": "wrong"}))
    assert wrong_pw.status is Status.UNHEALTHY
    assert "Access denied" in wrong_pw.details


def test_redis_healthy_and_wrong_credentials():
    host, port = require_service("redis")
    ok = run_one(create_check("redis", {"host": host, "port": port}))
    assert ok.status is Status.HEALTHY and "PONG" in ok.details
    bad = run_one(create_check("redis", {"host": host, "port": port,
                                         "username": "nobody", "password": "wrong"}))
    assert bad.status is Status.UNHEALTHY
    assert "rejected the credentials" in bad.details


def test_rabbitmq_healthy_wrong_password_and_vhost():
    host, port = require_service("rabbitmq")
    ok = run_one(create_check("rabbitmq", {"host": host, "port": port}))
    assert ok.status is Status.HEALTHY, ok.details
    bad = run_one(create_check("rabbitmq", {"host": host, "port": port, "password": "wrong"}))
    assert bad.status is Status.UNHEALTHY
    assert "authentication failed" in bad.details
    vhost = run_one(create_check("rabbitmq", {"host": host, "port": port,
                                              "virtual_host": "no_such_vhost"}))
    assert vhost.status is Status.UNHEALTHY
    assert "virtual host 'no_such_vhost' denied" in vhost.details


def test_mosquitto_healthy_and_closed_port():
    host, port = require_service("mosquitto")
    ok = run_one(create_check("mqtt", {"host": host, "port": port}))
    assert ok.status is Status.HEALTHY, ok.details
    closed = run_one(create_check("mqtt", {"host": host, "port": free_port()}))
    assert closed.status is Status.UNHEALTHY and "connection refused" in closed.details


def test_nats_healthy_and_closed_port():
    host, port = require_service("nats")
    ok = run_one(create_check("nats", {"url": f"nats://{host}:{port}"}))
    assert ok.status is Status.HEALTHY, ok.details
    assert ok.observed_unit == "ms"
    closed = run_one(create_check("nats", {"url": f"nats://{host}:{free_port()}"}))
    assert closed.status is Status.UNHEALTHY and "connection refused" in closed.details


def test_all_services_at_once_run_concurrently():
    checks = []
    for service, check_type, params in [
        ("postgres", "postgres", {"user": "postgres", "dbname": "test"}),
        ("mariadb", "mysql", {"database": "test"}),
        ("redis", "redis", {}),
        ("rabbitmq", "rabbitmq", {}),
        ("mosquitto", "mqtt", {}),
    ]:
        host, port = require_service(service)
        checks.append(create_check(check_type, {"host": host, "port": port, **params}))
    host, port = require_service("nats")
    checks.append(create_check("nats", {"url": f"nats://{host}:{port}"}))
    results = Runner(checks).run_sync()
    assert [r.status for r in results] == [Status.HEALTHY] * 6, [r.details for r in results]


@pytest.mark.parametrize(
    ("check_type", "module", "extra"),
    [("postgres", "psycopg", "postgres"), ("mysql", "pymysql", "mysql"),
     ("redis", "redis", "redis"), ("rabbitmq", "pika", "rabbitmq"),
     ("mqtt", "paho.mqtt.client", "mqtt"), ("nats", "nats", "nats")],
)
def test_a_missing_driver_says_which_extra_to_install(monkeypatch, check_type, module, extra):
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like
    result = run_one(create_check(check_type))
    assert result.status is Status.UNHEALTHY
    assert f"pip install 'watchkeeper[{extra}]'" in result.details


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of our own with a small maxmemory, so the shared one is untouched."""
    import socket
    import subprocess
    import time

    from peers import require_binary

    binary = require_binary("redis-server")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path), "--maxmemory", "2mb"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("private redis-server did not start")
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_memory_against_maxmemory(private_redis):
    roomy = run_one(create_check("redis", {"port": private_redis, "degraded_memory": 0.99,
                                           "unhealthy_memory": None}))
    assert roomy.status is Status.HEALTHY, roomy.details
    assert "maxmemory" in roomy.details and roomy.observed_unit == "percent"
    # an idle server already uses a good share of 2 MiB: a low threshold trips
    tight = run_one(create_check("redis", {"port": private_redis, "degraded_memory": 0.01}))
    assert tight.status is Status.DEGRADED
    full = run_one(create_check("redis", {"port": private_redis, "unhealthy_memory": 0.01}))
    assert full.status is Status.UNHEALTHY
