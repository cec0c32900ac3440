"""The MCP server through the real ``mcp`` client SDK over stdio, against a running
``watchkeeper serve`` with planted faults (a failing check, a down target)."""

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


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = dict(CONFIG)
    config["scrape_configs"] = [{"job_name": "billing", "static_configs": [
        {"targets": [f"127.0.0.1:{free_port()}"]}]}]
    with ServeProcess(tmp_path_factory.mktemp("mcp"), config) as server:
        server.wait_until(lambda: any(
            a["labels"]["alertname"] == "HealthCheckFailing" and a["state"] == "firing"
            for a in server.client.get("/api/v1/alerts").json()["data"]["alerts"]),
            60, "the planted alert to fire")
        server.wait_until(lambda: any(
            t["health"] == "down" for t in
            server.client.get("/api/v1/targets").json()["data"]["activeTargets"]),
            60, "the planted target to be scraped and found down")
        yield server


def _session(url: str, calls: list[tuple[str, dict]]) -> tuple[dict, list]:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    async def run() -> tuple[dict, list]:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "watchkeeper", "mcp", "--url", url],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
            await s.initialize()
            listed = (await s.list_tools()).model_dump(mode="json", by_alias=True,
                                                       exclude_none=True)
            results = [await s.call_tool(name, args) for name, args in calls]
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
    listed, results = _session(served.url, calls)
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

    res = CliRunner().invoke(cli, ["diagnose", "--url", served.url])
    assert res.exit_code == 0, res.output
    assert "payments-db" in res.output and "HealthCheckFailing" in res.output
    assert "billing" in res.output
    res = CliRunner().invoke(cli, ["diagnose", "--url", served.url, "--json"])
    assert json.loads(res.output)["health"]["failing"] >= 1
