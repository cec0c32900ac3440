"""No secret leaves the server: a distinct marker in every secret-bearing field of a full
config, failures driven everywhere (receivers down, checks failing, a bad reload), then every
endpoint's answer, the whole log and check-config's output are searched for any marker."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml
from serve_process import ServeProcess

from peers import free_port

pytestmark = pytest.mark.peer

MARKERS = {name: f"mk{name.replace('_', '')}Q7z" for name in (
    "scrape_basic", "scrape_bearer", "web_token", "http_userinfo", "http_query",
    "http_header", "pg_dsn", "pg_password", "redis_url", "mysql_password", "rabbit_password",
    "mqtt_password", "nats_token", "nats_password", "webhook_query", "webhook_path",
    "slack_path", "smtp_password", "apprise_token", "am_password", "am_query", "reload_url",
    "rw_userinfo", "rw_query", "rw_password", "rw_header")}
M = MARKERS


def _config(down: int, rules: str) -> dict:
    down_at = f"127.0.0.1:{down}"
    return {
        "global": {"evaluation_interval": "1s", "scrape_interval": "1s"},
        "collect_host": False,
        "scrape_configs": [
            {"job_name": "basic", "static_configs": [{"targets": [down_at]}],
             "basic_auth": {"username": "scraper", "password": M["scrape_basic"]}},
            {"job_name": "bearer", "static_configs": [{"targets": [down_at]}],
             "bearer_token": M["scrape_bearer"]},
        ],
        "checks": [
            {"type": "http", "name": "web", "interval": 1,
             "parameters": {"url": f"http://user:{M['http_userinfo']}@{down_at}/x"
                                   f"?token={M['http_query']}&plain=1",
                            "headers": {"Authorization": f"Bearer {M['http_header']}"}}},
            {"type": "postgres", "name": "pg", "interval": 1, "critical": False,
             "parameters": {"dsn": f"postgresql://u:{M['pg_dsn']}@{down_at}/db"}},
            {"type": "postgres", "name": "pg2", "interval": 1, "critical": False,
             "parameters": {"host": "127.0.0.1", "port": down, "user": "u",
                            "password": M["pg_password"]}},
            {"type": "redis", "name": "cache", "interval": 1, "critical": False,
             "parameters": {"url": f"redis://:{M['redis_url']}@{down_at}/0"}},
            {"type": "mysql", "name": "mysql", "interval": 1, "critical": False,
             "parameters": {"host": "127.0.0.1", "port": down,
                            "password": M["mysql_password"]}},
            {"type": "rabbitmq", "name": "mq", "interval": 1, "critical": False,
             "parameters": {"host": "127.0.0.1", "port": down,
                            "password": M["rabbit_password"]}},
            {"type": "mqtt", "name": "mqtt", "interval": 1, "critical": False,
             "parameters": {"host": "127.0.0.1", "port": down, "username": "u",
                            "password": M["mqtt_password"]}},
            {"type": "nats", "name": "nats", "interval": 1, "critical": False,
             "parameters": {"url": f"nats://{down_at}", "token": M["nats_token"]}},
            {"type": "nats", "name": "nats2", "interval": 1, "critical": False,
             "parameters": {"url": f"nats://{down_at}", "user": "u",
                            "password": M["nats_password"]}},
        ],
        "web": {"auth": {"bearer_tokens": [M["web_token"]]}},
        "remote_write": [
            {"url": f"http://w:{M['rw_userinfo']}@{down_at}/api/v1/write?key={M['rw_query']}",
             "name": "down", "queue_config": {"batch_send_deadline": "100ms"}},
            {"url": f"http://{down_at}/api/v1/write", "name": "down2",
             "basic_auth": {"username": "w", "password": M["rw_password"]},
             "headers": {"X-Scope-Token": M["rw_header"]}}],
        "rule_files": [rules],
        "alerting": {
            "alertmanagers": [f"http://am:{M['am_password']}@{down_at}/?k={M['am_query']}"],
            "route": {"receiver": "all", "group_wait": "0s", "group_interval": "1s"},
            "receivers": [{
                "name": "all",
                "webhook_configs": [
                    {"url": f"http://{down_at}/hook?token={M['webhook_query']}"},
                    {"url": f"http://{down_at}/services/T0/B0/{M['webhook_path']}"}],
                "email_configs": [{"to": "a@example.org", "from": "w@example.org",
                                   "smarthost": down_at, "auth_username": "w",
                                   "auth_password": M["smtp_password"]}],
                "apprise_configs": [{"urls": [f"json://{down_at}/{M['apprise_token']}"]}],
            }, {
                "name": "chat",
                "webhook_configs": [{"url": f"http://{down_at}/slack/{M['slack_path']}"}],
            }],
        },
    }


def _leaks(text: str) -> list[str]:
    return [name for name, marker in MARKERS.items() if marker in text]


GET_PATHS = ["/metrics", "/health", "/health/live", "/health/ready", "/-/healthy", "/-/ready",
             "/api/v1/targets", "/api/v1/targets/metadata", "/api/v1/metadata",
             "/api/v1/status/config", "/api/v1/status/flags", "/api/v1/status/tsdb",
             "/api/v1/status/runtimeinfo", "/api/v1/status/buildinfo",
             "/api/v1/status/remote_write",
             "/api/v1/operations", "/api/v1/openapi.json", "/api/v1/rules", "/api/v1/alerts",
             "/api/v2/silences", "/api/v1/thresholds", "/api/v1/incidents",
             "/api/v1/labels", "/api/v1/label/__name__/values", "/api/v1/label/check/values",
             "/api/v1/query?query=ALERTS", "/api/v1/query?query=watchkeeper_health_status",
             "/api/v1/series?match[]={__name__=~%22.%2B%22}", "/", "/dashboards.json"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("secrets")
    (workdir / "rules.yml").write_text(yaml.safe_dump({"groups": [{
        "name": "always", "interval": "1s",
        "rules": [{"alert": "AlwaysFiring", "expr": "vector(1)"}]}]}))
    down = free_port()
    server = ServeProcess(workdir, _config(down, "rules.yml"),
                          headers={"Authorization": f"Bearer {M['web_token']}"})
    with server:
        yield server, down


def test_no_marker_in_any_answer_or_log_line(served) -> None:
    server, _down = served
    server.wait_until(lambda: "notification to" in server.log(), 60,
                      "a failed notification in the log")
    server.wait_until(lambda: server.client.get("/health").json()["status"] == "fail", 30,
                      "the checks to fail")
    server.wait_until(lambda: all(t["health"] == "down" for t in server.client.get(
        "/api/v1/targets").json()["data"]["activeTargets"]), 30, "the targets down")
    time.sleep(2)  # a few more rounds of failures, retries and evaluations
    answers = {}
    for path in GET_PATHS:
        response = server.client.get(path)
        assert response.status_code in (200, 503), (path, response.text[:300])
        answers[path] = response.text
    config = answers["/api/v1/status/config"]
    assert "<secret>" in config and "user" not in _leaks(config)
    for path, text in answers.items():
        assert not _leaks(text), (path, _leaks(text))
    assert not _leaks(server.log()), _leaks(server.log())


def test_a_bad_reload_names_the_problem_without_its_secrets(served) -> None:
    server, down = served
    good = server.config_path.read_text()
    bad = yaml.safe_load(good)
    bad["global"]["scrape_interval"] = f"http://u:{M['reload_url']}@127.0.0.1:{down}/"
    server.write_config(bad)
    try:
        response = server.client.post("/-/reload")
        assert response.status_code == 500
        assert "scrape_interval" in response.text and not _leaks(response.text)
        info = server.client.get("/api/v1/status/runtimeinfo").json()["data"]
        assert info["reloadConfigSuccess"] is False and not _leaks(info["lastConfigError"])
        checked = subprocess.run([sys.executable, "-m", "watchkeeper.cli.main", "check-config",
                                  str(server.config_path)], capture_output=True, text=True,
                                 timeout=60, check=False)
        assert checked.returncode == 1 and "scrape_interval" in checked.stderr
        assert not _leaks(checked.stdout + checked.stderr)
    finally:
        server.write_config(good)
    assert server.client.post("/-/reload").status_code == 200
    checked = subprocess.run([sys.executable, "-m", "watchkeeper.cli.main", "check-config",
                              str(server.config_path)], capture_output=True, text=True,
                             timeout=60, check=False)
    assert checked.returncode == 0, checked.stderr
    assert not _leaks(checked.stdout + checked.stderr)
    assert not _leaks(server.log())
