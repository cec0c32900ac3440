"""The API's answer bytes, written straight from arrays, equal the dict answer encoded."""

from __future__ import annotations

import io
import math
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from parity_data import BASE_S, END_S, build
from parity_queries import QUERIES
from starlette.testclient import TestClient

from watchkeeper.promql import ast, parse
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.errors import PromQLError
from watchkeeper.promql.formatting import format_value, result_to_api
from watchkeeper.promql.http_api import create_app
from watchkeeper.promql.json_out import dumps, format_array, result_json
from watchkeeper.tsdb.exchange import import_openmetrics
from watchkeeper.tsdb.store import Store

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
EDGES = [0.0, -0.0, 1.0, -1.0, 1e-4, 1.0001e-4, 9.999e-5, 1e-5, -1e-7, 5e-324, 1e15, 1e16,
         -1e16, 9_999_999_999_999_998.0, 1.7976931348623157e308, 2.0**53, 0.1, 1 / 3,
         123456.789, math.nan, math.inf, -math.inf, STALE]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    store = Store.open(tmp_path_factory.mktemp("json") / "data", background=False)
    import_openmetrics(store, io.StringIO(build()))
    yield Engine(store)
    store.close()


def _expected(result) -> bytes:  # type: ignore[no-untyped-def]
    return dumps({"status": "success", "data": result_to_api(result)}).encode()


@pytest.mark.parametrize("query", QUERIES)
def test_instant_and_range_answers_equal_the_encoded_dicts(engine, query):
    calls = [lambda: engine.instant(query, (BASE_S + 3_607) * 1000),
             lambda: engine.instant(query, (END_S + 200) * 1000)]
    if parse(query).type in (ast.SCALAR, ast.VECTOR):
        calls.append(lambda: engine.range(query, (BASE_S + 1_200) * 1000,
                                          (END_S + 600) * 1000, 60_000))
        calls.append(lambda: engine.range(query, BASE_S * 1000 + 1_333_250,
                                          (BASE_S + 5_000) * 1000, 37_000))
    for call in calls:
        try:
            result = call()
        except PromQLError:
            continue
        assert result_json(result) == _expected(result), query


def test_edge_values_format_as_go_does():
    got = format_array(np.array(EDGES)).tolist()
    assert got == [format_value(v) for v in EDGES]
    assert got[:2] == ["0", "-0"] and got[7] == "0.00001" and got[11] == "10000000000000000"


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50))
def test_any_float_formats_as_format_value(values):
    assert format_array(np.array(values, dtype=np.float64)).tolist() == [
        format_value(v) for v in values]


def test_http_answer_is_the_same_document(engine):
    client = TestClient(create_app(engine.store, engine))
    r = client.get("/api/v1/query_range", params={
        "query": 'rate(http_requests{job="api"}[5m]) * 1e-6', "start": BASE_S + 600,
        "end": END_S, "step": 60})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    result = engine.range('rate(http_requests{job="api"}[5m]) * 1e-6', (BASE_S + 600) * 1000,
                          END_S * 1000, 60_000)
    assert r.content == _expected(result)
    assert r.json()["data"]["result"]
