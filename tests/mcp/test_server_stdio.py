"""The MCP server through the real ``mcp`` client SDK over stdio, against a running
``watchkeeper serve`` with planted faults (a failing check, a down target) and planted
secrets (the config's token and a scrape password, pushed into series, help and labels)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from serve_process import ServeProcess

from peers import free_port

pytestmark = pytest.mark.peer

CONFIG = {
    "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
    "checks": [{"type": "tcp", "name": "payments-db", "critical": True,
                "parameters": {"host": "127.0.0.1", "port": 1}}],
    "default_rules": {"override": {"HealthCheckFailing": {"for": "0s"}}},
}
TOKEN = "MARKER-bearer-token-52"
PASSWORD = "MARKER-scrape-pass-71"
PLANTED = f"""# HELP planted_secret_info The DSN postgres://app:{PASSWORD}@db:5432/x
# TYPE planted_secret_info gauge
planted_secret_info{{dsn="postgres://app:{PASSWORD}@db:5432/x",key="{TOKEN}",pw="{PASSWORD}"}} 1
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = dict(CONFIG)
    config["scrape_configs"] = [{"job_name": "billing", "static_configs": [
        {"targets": [f"127.0.0.1:{free_port()}"]}],
        "basic_auth": {"username": "scraper", "password": PASSWORD}}]
    config["web"] = {"auth": {"bearer_tokens": [TOKEN]}}
    with ServeProcess(tmp_path_factory.mktemp("mcp"), config,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as server:
        r = server.client.post("/api/v1/import/prometheus", content=PLANTED)
        assert r.status_code < 300, r.text
        server.wait_until(lambda: any(
            a["labels"]["alertname"] == "HealthCheckFailing" and a["state"] == "firing"
            for a in server.client.get("/api/v1/alerts").json()["data"]["alerts"]),
            60, "the planted alert to fire")
        server.wait_until(lambda: any(
            t["health"] == "down" for t in
            server.client.get("/api/v1/targets").json()["data"]["activeTargets"]),
            60, "the planted target to be scraped and found down")
        yield server


def _session(served: ServeProcess, calls: list[tuple[str, dict]], *extra: str,
             more: object = None) -> tuple[dict, list]:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    async def run() -> tuple[dict, list]:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "watchkeeper", "mcp", "--url", served.url,
                                          "--token", TOKEN, *extra],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
            await s.initialize()
            listed = (await s.list_tools()).model_dump(mode="json", by_alias=True,
                                                       exclude_none=True)
            results = [await s.call_tool(name, args) for name, args in calls]
            if more is not None:
                results.append(await more(s))  # type: ignore[operator]
            return listed, results

    return asyncio.run(asyncio.wait_for(run(), 120))


def test_tools_answer_small_and_exact_through_the_sdk(served):
    calls = [("status", {}), ("health", {}), ("alerts", {"state": "firing"}),
             ("query", {"expr": "up", "start": "now-1m"}),
             ("find_metrics", {"search": "health"}),
             ("describe_metric", {"name": "up"}), ("capacity", {}),
             ("query", {"expr": "sum(rate(x[5m]"}), ("query", {"expr": "up", "start": "soon"}),
             ("describe_metric", {"name": "no_such_metric_anywhere"}),
             ("alerts", {"state": "burning"})]
    listed, results = _session(served, calls)
    names = {t["name"] for t in listed["tools"]}
    assert names == {"status", "health", "alerts", "query", "find_metrics", "describe_metric",
                     "what_changed", "anomalies", "capacity", "forecast"}
    assert len(json.dumps(listed)) <= 10 * 1024  # tool definitions stay cheap
    assert all(t["annotations"]["readOnlyHint"] for t in listed["tools"])
    ok, bad = results[:7], results[7:]
    for r in ok:
        assert not r.is_error, r.content[0].text
        assert len(r.content[0].text.encode()) <= 8 * 1024
        assert r.structured_content == json.loads(r.content[0].text)
    status = ok[0].structured_content
    assert len(ok[0].content[0].text) <= 2048
    assert status["health"]["failing_checks"][0]["check"] == "payments-db"
    assert status["targets"]["down_targets"][0]["job"] == "billing"
    assert status["alerts"]["top"][0]["alert"] == "HealthCheckFailing"
    alert = ok[2].structured_content["alerts"][0]
    assert alert["alert"] == "HealthCheckFailing" and alert["expr"] and alert["value"] == 0
    for r, needle in zip(bad, ["parse error", "'soon' not understood", "nearest",
                               "'burning' not understood"], strict=True):
        assert r.is_error and needle in r.content[0].text
        assert len(r.content[0].text.encode()) <= 1024


def test_write_tools_exist_only_when_asked(served):
    code = ("import sys; from watchkeeper.mcp.backend import Backend; "
            "from watchkeeper.mcp.server import build; import asyncio; "
            f"b = Backend.remote({served.url!r}); "
            "print(sorted(t.name for t in asyncio.run(build(b, write=True).list_tools())), "
            "sorted(t.name for t in asyncio.run(build(b, prefix='wk_', "
            "allow={'status', 'query'}).list_tools())))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert "'silence'" in out.stdout, out.stderr
    assert "['wk_query', 'wk_status']" in out.stdout


def test_diagnose_prints_the_overview_for_a_person(served):
    from click.testing import CliRunner

    from watchkeeper.cli.main import cli

    res = CliRunner().invoke(cli, ["diagnose", "--url", served.url, "--token", TOKEN])
    assert res.exit_code == 0, res.output
    assert "payments-db" in res.output and "HealthCheckFailing" in res.output
    assert "billing" in res.output
    res = CliRunner().invoke(cli, ["diagnose", "--url", served.url, "--token", TOKEN,
                                   "--json"])
    overview = json.loads(res.output)
    assert overview["health"]["failing"] >= 1
    # what changed around the first problem's start: its time, and a list (maybe empty)
    assert overview["changed_around"]["at"] and isinstance(
        overview["changed_around"]["changes"], list)


async def _resources_and_prompts(s) -> dict:  # type: ignore[no-untyped-def]
    resources = (await s.list_resources()).resources
    prompts = (await s.list_prompts()).prompts
    read = {str(r.uri): (await s.read_resource(r.uri)).contents[0].text for r in resources}
    got = {}
    for p in prompts:
        args = {"alert": "HealthCheckFailing"} if p.arguments else {}
        got[p.name] = (await s.get_prompt(p.name, args)).messages[0].content.text
    return {"resources": read, "prompts": got}


SECRET_CALLS = [
    ("status", {}), ("health", {}), ("alerts", {"state": "all"}),
    ("query", {"expr": "planted_secret_info"}),
    ("query", {"expr": "planted_secret_info", "start": "now-5m", "shape": "points"}),
    ("query", {"expr": "planted_secret_info", "shape": "table"}),
    ("query", {"expr": 'planted_secret_info{key="nope"}'}),
    ("query", {"expr": f'planted_secret_info{{key="{TOKEN}"'}),
    ("find_metrics", {"search": "planted"}),
    ("describe_metric", {"name": "planted_secret_info"}),
    ("what_changed", {"at": "now-1m", "window": "1m"}),
    ("anomalies", {"expr": "planted_secret_info", "window": "10m", "step": "15s"}),
    ("capacity", {}),
    ("forecast", {"expr": "planted_secret_info", "horizon": "1h", "lookback": "5m"})]
WRITE_CALLS = [("acknowledge", {"alert": "HealthCheckFailing", "comment": "on it"}),
               ("silence", {"matchers": {"alertname": "HealthCheckFailing"},
                            "duration": "10m", "comment": "deploying"}),
               ("alerts", {"state": "firing"}),
               ("acknowledge", {"alert": "HealthCheckFailing"}),
               ("acknowledge", {})]


@pytest.fixture(scope="module")
def written(served):
    """One session with the write tools and the config's secrets: the write calls, every
    read tool on the planted secrets, then every resource and prompt."""
    listed, results = _session(served, WRITE_CALLS + SECRET_CALLS, "--mcp-write", "--config",
                               str(served.config_path), more=_resources_and_prompts)
    return listed, results[:len(WRITE_CALLS)], results[len(WRITE_CALLS):-1], results[-1]


def test_acknowledge_through_mcp(served, written):
    listed, (ack, silenced, firing, again, neither), _, _ = written
    tools = {t["name"]: t for t in listed["tools"]}
    assert tools["acknowledge"]["annotations"]["destructiveHint"] is True
    assert len(json.dumps(listed)) <= 10 * 1024  # with the write tools too
    assert not ack.is_error, ack.content[0].text
    done = ack.structured_content["acknowledged"]
    assert done and all(d["acked_by"] == "mcp" for d in done)
    incident = served.client.get(f"/api/v1/incidents/{done[0]['incident']}").json()["data"]
    assert incident["acked_by"] == "mcp" and incident["ack_comment"] == "on it"
    alert = next(a for a in firing.structured_content["alerts"]
                 if a["alert"] == "HealthCheckFailing")
    assert alert["incident"] == done[0]["incident"] and alert["acked_by"] == "mcp"
    assert not silenced.is_error, silenced.content[0].text
    assert alert["silenced_by"] == [str(silenced.structured_content["silence"]["silenceID"])]
    assert again.is_error and "no open unacknowledged incident" in again.content[0].text
    assert neither.is_error and "exactly one" in neither.content[0].text


def test_resources_and_prompts_carry_the_facts(written):
    extra = written[3]
    assert set(extra["resources"]) == {"watchkeeper://status", "watchkeeper://alerts",
                                       "watchkeeper://capacity", "watchkeeper://report/day",
                                       "watchkeeper://report/week",
                                       "watchkeeper://reports/1d.md",
                                       "watchkeeper://reports/7d.md"}
    status = json.loads(extra["resources"]["watchkeeper://status"])
    assert status["health"]["failing_checks"][0]["check"] == "payments-db"
    assert status["store"]["retention"].endswith(" d")
    markdown = extra["resources"]["watchkeeper://reports/1d.md"]
    assert markdown.startswith("# watchkeeper report, last 1d")  # the reports room's own
    assert len(markdown.encode()) <= 32 * 1024
    week = json.loads(extra["resources"]["watchkeeper://report/week"])
    fired = {a["alert"]: a for a in week["alerts"]["by_alert"]}
    assert fired["HealthCheckFailing"]["incidents"] >= 1
    assert week["alerts"]["median_time_to_ack"] is not None  # the acknowledgement above
    assert any(c["check"] == "payments-db" and c["available"] == "0 %"
               for c in week["checks"])
    for uri, text in extra["resources"].items():
        assert len(text.encode()) <= (32 if uri.endswith(".md") else 8) * 1024
    assert set(extra["prompts"]) == {"investigate_alert", "capacity_review", "weekly_review"}
    assert '"expr":' in extra["prompts"]["investigate_alert"]  # the alert's record is in it
    assert "HealthCheckFailing" in extra["prompts"]["weekly_review"]


def test_no_secret_in_any_answer(written):
    _, _, results, extra = written
    answers = [r.content[0].text for r in results]
    answers += [json.dumps(r.structured_content) for r in results]
    answers.append(json.dumps(extra))
    everything = "\n".join(answers)
    assert TOKEN not in everything and PASSWORD not in everything
    planted = results[3].structured_content["series"][0]["series"]
    assert planted.count("<secret>") == 3  # the data came through, its secrets hidden
    assert "<secret>" in results[6].content[0].text  # the empty query's label hints
    assert results[7].is_error
