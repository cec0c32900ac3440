"""Same data, same queries, same answers: our engine against a real Prometheus 2.x.

One data set (tests/promql/parity_data.py) goes into Prometheus through promtool's
OpenMetrics backfill and into our store through the same OpenMetrics import; each query
runs as an instant query and (if it returns an instant vector or scalar) as a range query
on both. Labels must match exactly; values within 1e-9 relative, NaN with NaN.
Stale markers cannot travel through OpenMetrics, so staleness is covered by unit tests.
"""

from __future__ import annotations

import io
import math
import subprocess

import pytest
from parity_data import BASE_S, END_S, build
from parity_queries import ORDERED, QUERIES

from peers import require_binary
from prometheus_runner import PrometheusError, PrometheusRunner
from watchkeeper.promql import ast, parse
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.errors import PromQLError
from watchkeeper.promql.formatting import result_to_api
from watchkeeper.tsdb.exchange import import_openmetrics
from watchkeeper.tsdb.store import Store

# mid-data off a sample boundary, just after the data ends (inside the lookback), and on a
# sample where the "special" series hold NaN and infinities
INSTANT_TIMES = [BASE_S + 3_607.5, END_S + 200, BASE_S + 15 * 143]  # the last: NaN in special
RANGE = (BASE_S + 1_200, END_S + 600, 60)  # runs past the data's end, beyond the lookback
ODD_RANGE = (BASE_S + 1_333.25, BASE_S + 5_000, 37)  # unaligned start, step and subquery grid


@pytest.fixture(scope="module")
def peers(tmp_path_factory):
    promtool = require_binary("promtool")
    require_binary("prometheus")
    root = tmp_path_factory.mktemp("parity")
    text = build()
    (root / "data.om").write_text(text)
    blocks = root / "blocks"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics",
                    str(root / "data.om"), str(blocks)], check=True, capture_output=True,
                   timeout=120)
    store = Store.open(root / "ours", background=False)
    import_openmetrics(store, io.StringIO(text))
    # a 1m evaluation interval: the default step of subqueries, as our engine's default
    prom = PrometheusRunner(root / "prom", storage_path=blocks,
                            config=PrometheusRunner.scrape_config([], "1m"),
                            extra_args=["--storage.tsdb.retention.time=100y"])
    prom.start()
    try:
        yield prom, Engine(store)
    finally:
        prom.stop()
        store.close()


def _same_value(ours: str, theirs: str) -> bool:
    a, b = float(ours), float(theirs)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _key(metric: dict) -> tuple:
    return tuple(sorted(metric.items()))


def _compare(query: str, ours: dict, theirs: dict, ordered: bool = False) -> None:
    assert ours["resultType"] == theirs["resultType"], query
    kind = ours["resultType"]
    if kind in ("scalar", "string"):
        assert ours["result"][0] == pytest.approx(theirs["result"][0])
        assert _same_value(ours["result"][1], theirs["result"][1]), (query, ours, theirs)
        return
    field = "value" if kind == "vector" else "values"
    mine = {_key(s["metric"]): s[field] for s in ours["result"]}
    real = {_key(s["metric"]): s[field] for s in theirs["result"]}
    assert len(mine) == len(ours["result"]), f"duplicate series in our answer to {query}"
    assert sorted(mine) == sorted(real), f"{query}: label sets differ"
    if ordered and kind == "vector":
        assert [float(s["value"][1]) for s in ours["result"]] == pytest.approx(
            [float(s["value"][1]) for s in theirs["result"]], nan_ok=True)
    for key, points in real.items():
        got = mine[key]
        if kind == "vector":
            got, points = [got], [points]
        assert [p[0] for p in got] == pytest.approx([p[0] for p in points]), (query, key)
        bad = [(g, p) for g, p in zip(got, points, strict=True) if not _same_value(g[1], p[1])]
        assert not bad, f"{query} {dict(key)}: {bad[:3]}"


def _theirs(prom: PrometheusRunner, path: str, **params) -> dict | str:
    try:
        return prom.api(path, **params)
    except PrometheusError as e:
        return f"error: {e}"


def _ours(call) -> dict | str:  # type: ignore[no-untyped-def]
    try:
        return result_to_api(call())
    except PromQLError as e:
        return f"error: {e}"


def _check(query: str, ours, theirs) -> None:  # type: ignore[no-untyped-def]
    if isinstance(theirs, str) or isinstance(ours, str):
        assert isinstance(ours, str) and isinstance(theirs, str), (query, ours, theirs)
        return
    _compare(query, ours, theirs, ordered=query in ORDERED)


@pytest.mark.parametrize("at", INSTANT_TIMES)
@pytest.mark.parametrize("query", QUERIES)
def test_instant_query_matches_prometheus(peers, query, at):
    prom, engine = peers
    theirs = _theirs(prom, "query", query=query, time=at)
    ours = _ours(lambda: engine.instant(query, round(at * 1000)))
    _check(query, ours, theirs)


RANGE_QUERIES = [q for q in QUERIES if parse(q).type in (ast.SCALAR, ast.VECTOR)]


@pytest.mark.parametrize("query", RANGE_QUERIES)
def test_range_query_matches_prometheus(peers, query):
    prom, engine = peers
    start, end, step = RANGE
    theirs = _theirs(prom, "query_range", query=query, start=start, end=end, step=step)
    ours = _ours(lambda: engine.range(query, start * 1000, end * 1000, step * 1000))
    _check(query, ours, theirs)


# Deliberate difference: on an unaligned grid Prometheus 2.42 answers this step-invariant
# query for the first 16 of 100 steps only (its per-step window reuse drops the rest);
# the values it does give match ours, and we answer every step.
KNOWN_DIFFERENCES = {"predict_linear(node_temp[10m] @ end(), 60)"}
ODD_RANGE_QUERIES = [q for q in RANGE_QUERIES
                     if any(word in q for word in ("[", "offset", "@", "time()", "timestamp"))
                     and q not in KNOWN_DIFFERENCES]


@pytest.mark.parametrize("query", ODD_RANGE_QUERIES)
def test_unaligned_range_query_matches_prometheus(peers, query):
    prom, engine = peers
    start, end, step = ODD_RANGE
    theirs = _theirs(prom, "query_range", query=query, start=start, end=end, step=step)
    ours = _ours(lambda: engine.range(query, round(start * 1000), end * 1000, step * 1000))
    _check(query, ours, theirs)
