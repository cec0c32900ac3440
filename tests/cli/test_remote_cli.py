"""``--url``: health, stats, metrics and query ask a real ``watchkeeper serve`` with auth on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from peers import free_port
from watchkeeper.cli.main import cli
from watchkeeper.server.auth import hash_password

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))
from serve_process import ServeProcess

TOKEN = "tok-remote-123"
PASSWORD = "pw-remote-456"
pytestmark = pytest.mark.peer


def _config(state: Path) -> dict:
    """A server whose one critical check exits with the number written in ``state``."""
    return {
        "web": {"auth": {"bearer_tokens": [TOKEN],
                         "basic_auth_users": {"ops": hash_password(PASSWORD, n=2**10)}}},
        "checks": [
            {"type": "command", "name": "api", "interval": 0.2, "critical": True,
             "parameters": {"command": ["sh", "-c", f"echo state; exit $(cat {state})"],
                            "degraded_exit_codes": [1]}},
            {"type": "memory", "name": "memory", "critical": False},
        ],
        "default_rules": {"enabled": False},  # its alert list starts empty on a busy host
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("remote")
    state = workdir / "state"
    state.write_text("0")
    server = ServeProcess(workdir, _config(state), headers={"Authorization": f"Bearer {TOKEN}"})
    with server:
        server.wait_until(lambda: server.client.get("/health").json()["checks"], 30,
                          "the first health results")
        yield server, state


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200", **(env or {})},
                              input=stdin)


def test_health_follows_the_servers_status_with_its_exit_codes(served) -> None:
    server, state = served
    env = {"WATCHKEEPER_TOKEN": TOKEN}
    result = run("health", "--url", server.url, env=env)
    assert result.exit_code == 0, result.output
    assert "health: healthy" in result.output and "api" in result.output
    assert "memory" in result.output and "non-critical" in result.output
    for code, word in ((1, "degraded"), (2, "unhealthy"), (0, "healthy")):
        state.write_text(str(code))
        server.wait_until(lambda c=code: run("health", "--url", server.url,
                                             env=env).exit_code == c, 30, f"exit {code}")
        assert f"health: {word}" in run("health", "--url", server.url, env=env).output


def test_health_json_is_the_servers_document(served) -> None:
    server, _ = served
    result = run("health", "--url", server.url, "--json", "--token", TOKEN)
    doc = json.loads(result.output)
    assert doc["serviceId"] == "watchkeeper"
    assert doc["checks"]["api:exitCode"][0]["componentId"] == "api"
    assert result.exit_code == {"pass": 0, "warn": 1, "fail": 2}[doc["status"]]


def test_health_watch_polls_the_server(served) -> None:
    server, _ = served
    result = run("health", "--url", server.url, "--watch", "--count", "2", "--interval",
                 "0.1", env={"WATCHKEEPER_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert "since" in result.output and "api" in result.output
    lines = run("health", "--url", server.url, "--watch", "--json", "--count", "2",
                "--interval", "0.1", env={"WATCHKEEPER_TOKEN": TOKEN}).output.splitlines()
    assert [json.loads(line)["status"] for line in lines] == ["pass", "pass"]


def test_basic_auth_password_from_the_environment_or_a_prompt(served) -> None:
    server, _ = served
    from_env = run("health", "--url", server.url, "--user", "ops",
                   env={"WATCHKEEPER_PASSWORD": PASSWORD})
    assert from_env.exit_code == 0, from_env.output
    prompted = run("health", "--url", server.url, "--user", "ops", "--json",
                   stdin=PASSWORD + "\n")
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output


def test_missing_or_wrong_credentials_and_no_server_exit_3(served) -> None:
    server, _ = served
    anonymous = run("health", "--url", server.url)
    assert anonymous.exit_code == 3 and "needs credentials" in anonymous.output
    wrong = run("health", "--url", server.url, "--token", "not-it")
    assert wrong.exit_code == 3 and "refused the credentials" in wrong.output
    assert "not-it" not in wrong.output
    bad_password = run("health", "--url", server.url, "--user", "ops",
                       env={"WATCHKEEPER_PASSWORD": "nope"})
    assert bad_password.exit_code == 3
    nobody = run("health", "--url", f"http://ops:hunter2@127.0.0.1:{free_port()}",
                 "--timeout", "2")
    assert nobody.exit_code == 3 and "cannot fetch" in nobody.output
    assert "hunter2" not in nobody.output
    not_health = run("health", "--url", server.url + "/api/v1", "--token", TOKEN)
    assert not_health.exit_code == 3 and "HTTP 404" in not_health.output
    both = run("health", "--url", server.url, "--token", TOKEN, "--user", "ops")
    assert both.exit_code == 3 and "not both" in both.output
    unanswered = run("health", "--url", server.url, "--user", "ops", stdin="")
    assert unanswered.exit_code == 3 and "no password" in unanswered.output
    assert "Traceback" not in anonymous.output + nobody.output + not_health.output


def test_stats_shows_the_servers_host_summary(served) -> None:
    server, _ = served
    env = {"WATCHKEEPER_TOKEN": TOKEN}
    result = run("stats", "--url", server.url, "--json", "--interval", "0.2", "--top", "2",
                 env=env)
    assert result.exit_code == 0, result.output
    remote = json.loads(result.output)
    local = json.loads(run("stats", "--json", "--interval", "0.1").output)
    assert set(remote) == set(local)
    assert 0.15 <= remote["interval_seconds"] < 30
    assert len(remote["processes"]["by_cpu"]) == 2
    table = run("stats", "--url", server.url, "--interval", "0.1", env=env)
    assert table.exit_code == 0 and "Top processes by CPU" in table.output
    watched = run("stats", "--url", server.url, "--watch", "--json", "--count", "2",
                  "--interval", "0.1", env=env)
    assert len(watched.output.splitlines()) == 2
    refused = run("stats", "--url", server.url, "--interval", "0.1")
    assert refused.exit_code == 1 and "needs credentials" in refused.output
    too_long = run("stats", "--url", server.url, "--interval", "61", env=env)
    assert too_long.exit_code == 1 and "interval" in too_long.output


def test_metrics_and_query_take_the_same_credentials(served) -> None:
    server, _ = served
    env = {"WATCHKEEPER_TOKEN": TOKEN}
    families = run("metrics", "--url", server.url, "--json", "--filter", "^watchkeeper_",
                   env=env)
    assert families.exit_code == 0, families.output
    assert json.loads(families.output)["families"]
    assert run("metrics", "--url", server.url).exit_code == 1
    answer = run("query", "up", "--url", server.url, "--json", "--user", "ops",
                 env={"WATCHKEEPER_PASSWORD": PASSWORD})
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.output)["status"] == "success"
    refused = run("query", "up", "--url", server.url)
    assert refused.exit_code == 1 and "needs credentials" in refused.output


def test_alerts_takes_the_same_credentials(served) -> None:
    server, _ = served
    listed = run("alerts", "--url", server.url, "--token", TOKEN, "list", "--json")
    assert listed.exit_code == 0 and json.loads(listed.output) == []
    added = run("alerts", "--url", server.url, "--user", "ops", "silence", "add",
                "host=a", "-m", "maintenance", "--by", "ops",
                env={"WATCHKEEPER_PASSWORD": PASSWORD})
    assert added.exit_code == 0, added.output
    shown = run("alerts", "--url", server.url, "silence", "list",
                env={"WATCHKEEPER_TOKEN": TOKEN})
    assert added.output.strip() in shown.output
    anonymous = run("alerts", "--url", server.url, "list")
    assert anonymous.exit_code == 1 and "needs credentials" in anonymous.output
