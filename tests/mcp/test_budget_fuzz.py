"""Every tool, called through the MCP server with fuzzed arguments against a store of
100,000 series: no answer over its byte budget (8 KB, or what ``max_bytes`` asked, never
over 32 KB), no error over 1 KB, and every error names what was wrong."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.mcp.backend import Backend
from watchkeeper.mcp.shapes import BUDGET, HARD_BUDGET
from watchkeeper.tsdb.store import Store

SERIES = 100_000
METRICS = 100  # fuzz_metric_0_bytes .. fuzz_metric_99_bytes, 1,000 series each


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from watchkeeper.mcp.server import build

    now = int(time.time()) * 1000
    store = Store.open(tmp_path_factory.mktemp("fuzz") / "data", background=False)
    for i in range(SERIES):  # long label values, so a careless answer would be huge
        labels = {"__name__": f"fuzz_metric_{i % METRICS}_bytes",
                  "instance": f"host-{i % 1000:04d}.zone-{i % 7}.example.internal:9100",
                  "shard": f"shard-{i:06d}"}
        store.append(labels, now - 60_000, float(i))
        store.append(labels, now, float(i) * 1.5)
    store.commit()
    backend = Backend.of_store(store)
    yield build(backend, write=False)
    backend.close()
    # The store is left open to the process's end: closing would checkpoint 100,000
    # series (seconds) only for the temporary folder to be deleted.


def _call(server, name: str, args: dict) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        result = asyncio.run(server.call_tool(name, args))
    except ToolError as e:  # the SDK's own argument validation (a wrong type)
        return True, str(e)
    return bool(result.is_error), result.content[0].text


metric = st.integers(0, METRICS - 1).map(lambda i: f"fuzz_metric_{i}_bytes")
selector = st.one_of(
    metric,
    metric.map(lambda m: f'{m}{{instance=~"host-00.*"}}'),
    st.sampled_from(['{__name__=~"fuzz_metric_1.*"}', '{__name__=~"fuzz_metric_.*"}',
                     '{shard=~"shard-0[0-4].*"}']))
expr = st.one_of(
    selector,
    selector.map(lambda s: f"sum by (instance) ({s})"),
    st.tuples(st.integers(-5, 5000), selector).map(lambda t: f"topk({t[0]}, {t[1]})"),
    selector.map(lambda s: f"rate({s}[5m])"),
    st.text(max_size=60),  # mostly bad PromQL
)
when = st.one_of(st.none(), st.sampled_from(["now-5m", "1h", "now", "2026-01-01T00:00:00Z"]),
                 st.text(max_size=20))
max_bytes = st.one_of(st.none(), st.integers(-10, 10**7))

CALLS = st.one_of(
    st.fixed_dictionaries({"expr": expr}, optional={
        "start": when, "end": when, "step": st.sampled_from(["15s", "1m", "x"]),
        "shape": st.sampled_from(["summary", "table", "points", "pie"]),
        "cursor": st.integers(0, 200_000), "max_bytes": max_bytes}).map(lambda a: ("query", a)),
    st.fixed_dictionaries({}, optional={
        "search": st.one_of(st.text(max_size=20), st.sampled_from(["fuzz", "bytes", "metric 1"])),
        "cursor": st.integers(0, 500), "limit": st.integers(-5, 10_000)}).map(
        lambda a: ("find_metrics", a)),
    st.fixed_dictionaries({"name": st.one_of(metric, st.text(max_size=30))}).map(
        lambda a: ("describe_metric", a)),
    st.fixed_dictionaries({}, optional={
        "state": st.sampled_from(["firing", "pending", "all", "on fire"]),
        "max_bytes": max_bytes}).map(lambda a: ("alerts", a)),
    st.just(("status", {})),
    st.fixed_dictionaries({}, optional={"check": st.text(max_size=10)}).map(
        lambda a: ("health", a)),
    st.fixed_dictionaries({"at": when, "match": metric}, optional={
        "window": st.sampled_from(["1m", "5m", "soon"]), "top": st.integers(-3, 100)}).map(
        lambda a: ("what_changed", {k: v for k, v in a.items() if v is not None})),
    st.fixed_dictionaries({"expr": metric}, optional={
        "window": st.sampled_from(["5m", "1h", "x"]), "step": st.sampled_from(["1m", "?"])}).map(
        lambda a: ("anomalies", a)),
    st.fixed_dictionaries({"expr": metric}, optional={
        "horizon": st.sampled_from(["1h", "1d", "nope"]),
        "threshold": st.floats(allow_nan=False), "lookback": st.sampled_from(["5m", "1h"])}).map(
        lambda a: ("forecast", a)),
    st.just(("capacity", {})),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(call=CALLS)
def test_no_answer_over_its_budget_on_100k_series(server, call):
    name, args = call
    is_error, text = _call(server, name, args)
    size = len(text.encode())
    if is_error:
        assert size <= 1024, text
        assert text.strip(), f"{name} {args}: an empty error"
        return
    cap = BUDGET
    if args.get("max_bytes") is not None:
        cap = min(HARD_BUDGET, max(1024, args["max_bytes"]))
    assert size <= cap, f"{name} {args}: {size} bytes over {cap}"
    answer = json.loads(text)
    if answer.get("truncated"):  # a cut answer says how to get the rest
        assert answer["total"] >= 0 and answer["cursor"] is not None
        assert "narrow" in answer


def test_wide_queries_cut_with_a_ready_rewrite(server):
    is_error, text = _call(server, "query", {"expr": '{__name__=~"fuzz_metric_.*"}'})
    answer = json.loads(text)
    assert not is_error and answer["series_total"] == SERIES and answer["truncated"]
    assert len(text.encode()) <= BUDGET
    assert answer["narrow"].startswith("sum by (")
    is_error, text = _call(server, "query", {"expr": "fuzz_metric_3_bytes[5m"})
    assert is_error and "parse error" in text and len(text.encode()) <= 1024
