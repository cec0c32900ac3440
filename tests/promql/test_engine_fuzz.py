"""Any query that parses either evaluates or fails with a PromQLError, never a traceback."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.promql import PromQLParseError, parse
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.errors import PromQLError
from watchkeeper.promql.formatting import result_to_api
from watchkeeper.promql.signatures import FUNCTIONS
from watchkeeper.tsdb.store import Store

ATOMS = ["m", 'm{a="x"}', "n", "m[5m]", "n[1m:30s]", "1", "-2.5", "NaN", "Inf", '"s"',
         "time()", "vector(2)", "m offset 1m", "m @ 120", "nosuch"]
FUNCS = sorted(FUNCTIONS)
AGGS = ["sum", "avg", "min", "max", "count", "stddev", "topk(2,", "quantile(0.5,",
        'count_values("v",', "group", "bottomk(1,"]
OPS = ["+", "-", "*", "/", "%", "^", "==", "!=", "> bool", "<", "and", "or", "unless",
       "atan2", "+ on(a)", "* ignoring(a) group_left", "/ on() group_right"]


def _expr(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return st.sampled_from(ATOMS)
    sub = _expr(depth - 1)
    return st.one_of(
        st.sampled_from(ATOMS),
        st.tuples(sub, st.sampled_from(OPS), sub).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(st.sampled_from(FUNCS), st.lists(sub, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(st.sampled_from(AGGS), sub).map(
            lambda t: f"{t[0]} {t[1]})" if t[0].endswith(",") else f"{t[0]}({t[1]})"),
        sub.map(lambda s: f"({s})[10m:1m]"),
    )


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    store = Store.open(tmp_path_factory.mktemp("fuzz") / "data", background=False)
    ts = np.arange(0, 900_000, 15_000, dtype=np.int64)
    for a in ("x", "y"):
        store.append_array({"__name__": "m", "a": a, "le": "1"}, ts, np.sin(ts / 1e5) * 10)
        store.append_array({"__name__": "n", "a": a, "le": "+Inf"}, ts, ts / 1000.0)
    yield Engine(store)
    store.close()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(text=_expr(3))
def test_parsed_queries_evaluate_or_fail_cleanly(engine, text):
    try:
        expr = parse(text)
    except PromQLParseError:
        return
    for run in (lambda: engine.instant(expr, 600_000),
                lambda: engine.range(expr, 0, 900_000, 60_000)):
        try:
            result_to_api(run())
        except PromQLError:
            pass
