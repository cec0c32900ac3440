"""Hostile input to the query API of the whole server: never a 5xx, never an answer later
than the query timeout allows, and /health/live answers after every input."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import served_app

from watchkeeper.promql.signatures import FUNCTIONS

TIMEOUT_S = 2.0
T0 = 1_700_000_000
EVIL = "a" * 3_000 + "!"

NUMBERS = ["0", "1", "-1", "1.5", "1e300", "-1e300", "1e19", "9223372036854775807",
           "-9223372036854775809", "NaN", "Inf", "-Inf", "0x7fffffffffffffff", "1e-320",
           "170000000", "2023-11-14T22:13:20Z", "99999-12-31T23:59:59Z", "", "abc", "1h",
           "300000000y", "5m", "0.001", "1ms", "-5m"]
DURATIONS = ["1ms", "1s", "5m", "1h", "30d", "1y", "292y", "293y", "300000000y",
             "99999999999999999999s", "0s", "1m30s"]
REGEXES = ["(a+)+b", "(a|aa)+$", "(.*)*x", "((a*)*)*c", "(a)\\\\1", "(?=a)", "a++", "(",
           "\\\\C", ".*", "", "a{1001}", "(?i)A", "\\\\pL+", "[[:alpha:]]", "(?<n>a)",
           "a)|(b"]
NAMES = ["m", "n", "nosuch", "__name__", "up"]
ATOMS = ["m", 'm{a="x"}', "n", "1", "-2.5", "NaN", "Inf", "time()", "vector(1)", '"s"']
OPS = ["+", "-", "*", "/", "%", "^", "==", "> bool", "and", "or", "unless", "atan2",
       "+ on(a)", "* ignoring(a) group_left"]
AGGS = ["sum", "avg", "count", "max", "topk(2,", "quantile(0.5,", 'count_values("v",',
        "topk(1e300,", "quantile(1e300,", "limitk(NaN,"]


def _selector() -> st.SearchStrategy[str]:
    matcher = st.tuples(st.sampled_from(["a", "b", "__name__"]),
                        st.sampled_from(["=", "!=", "=~", "!~"]),
                        st.sampled_from([*REGEXES, "x", "y", EVIL[:50]]))
    return st.tuples(st.sampled_from(NAMES), st.lists(matcher, max_size=3)).map(
        lambda t: t[0] + "{" + ",".join(f'{n}{op}"{v}"' for n, op, v in t[1]) + "}")


def _modifier(expr: str, draw) -> str:  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from(["", "range", "sub", "offset", "at"]))
    if kind == "range" and expr.startswith(tuple(NAMES)) and expr.endswith("}"):
        return f"{expr}[{draw(st.sampled_from(DURATIONS))}]"
    if kind == "sub":
        return f"({expr})[{draw(st.sampled_from(DURATIONS))}:{draw(st.sampled_from(DURATIONS))}]"
    if kind == "offset" and expr.startswith(tuple(NAMES)):
        return f"{expr} offset {draw(st.sampled_from(['', '-']))}{draw(st.sampled_from(DURATIONS))}"
    if kind == "at" and expr.startswith(tuple(NAMES)):
        return f"{expr} @ {draw(st.sampled_from([*NUMBERS[:14], 'start()', 'end()']))}"
    return expr


@st.composite
def promql(draw, depth: int = 3) -> str:  # type: ignore[no-untyped-def]
    """Grammar-shaped PromQL: mostly valid shapes with hostile numbers and regexes."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        atom = draw(st.one_of(st.sampled_from(ATOMS), _selector()))
        return _modifier(atom, draw)
    form = draw(st.integers(0, 4))
    if form == 0:
        return f"({draw(promql(depth - 1))}) {draw(st.sampled_from(OPS))} " \
               f"({draw(promql(depth - 1))})"
    if form == 1:
        args = draw(st.lists(promql(depth - 1), max_size=3))
        return f"{draw(st.sampled_from(sorted(FUNCTIONS)))}({', '.join(args)})"
    if form == 2:
        agg = draw(st.sampled_from(AGGS))
        inner = draw(promql(depth - 1))
        return f"{agg} {inner})" if agg.endswith(",") else f"{agg}({inner})"
    if form == 3:
        regex = draw(st.sampled_from(REGEXES))
        return f'label_replace({draw(promql(depth - 1))}, "d", "$1", "a", "{regex}")'
    return _modifier(f"({draw(promql(depth - 1))})", draw)


RAW = st.one_of(
    promql(),
    st.lists(st.sampled_from([*"()[]{}\"'`~=!+-*/^%@:,.5mhdy \\", "sum", "x", "offset",
                              "by"]), max_size=40).map("".join),
    st.sampled_from(["(" * 400 + "m" + ")" * 400, "-" * 500 + "m", "m" + " + m" * 400,
                     "sum(" * 300 + "m" + ")" * 300, "m[30d:1ms]", "m @ 1e309"]),
)
PARAM = st.one_of(st.sampled_from(NUMBERS), st.text(max_size=12))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    config = f"collect_host: false\nquery:\n  timeout: {TIMEOUT_S}s\n"
    with served_app(tmp_path_factory.mktemp("fuzz"), config) as (client, service):
        ts = (T0 + np.arange(0, 1800, 15)) * 1000
        for a in ("x", "y", EVIL):
            for name in ("m", "n"):
                service.store.append_array({"__name__": name, "a": a, "b": "1"}, ts,
                                           np.arange(len(ts), dtype=np.float64))
        yield client


def _check(client, method: str, path: str, params: dict) -> None:
    started = time.monotonic()
    r = client.get(path, params=params) if method == "GET" else client.post(path, data=params)
    took = time.monotonic() - started
    assert r.status_code < 500, (path, params, r.status_code, r.text[:300])
    assert took < TIMEOUT_S + 5, (path, params, took)  # the timeout's backstop is 0.5 s
    if r.status_code != 200:
        body = r.json()
        assert body["status"] == "error" and body["errorType"] and body["error"], body
    live = client.get("/health/live")
    assert live.status_code == 200


FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(query=RAW, at=PARAM, timeout=st.sampled_from([None, "1s", "0s", "-1s", "1e300",
                                                     "abc", "10m"]),
       method=st.sampled_from(["GET", "POST"]))
def test_instant_queries(server, query, at, timeout, method):
    params = {"query": query, "time": at}
    if timeout is not None:
        params["timeout"] = timeout
    _check(server, method, "/api/v1/query", params)


@FUZZ
@given(query=RAW, start=PARAM, end=PARAM, step=PARAM)
def test_range_queries(server, query, start, end, step):
    _check(server, "GET", "/api/v1/query_range",
           {"query": query, "start": start, "end": end, "step": step})


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(["/api/v1/series", "/api/v1/labels", "/api/v1/label/a/values",
                             "/api/v1/label/__name__/values", "/api/v1/label/%ff/values"]),
       match=st.lists(st.one_of(_selector(), RAW), max_size=3), start=PARAM, end=PARAM)
def test_metadata_queries(server, path, match, start, end):
    _check(server, "GET", path, {"match[]": match, "start": start, "end": end})
