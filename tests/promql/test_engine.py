"""Engine behaviour that the parity suite cannot carry: stale markers, errors, edge cases."""

import struct

import numpy as np
import pytest

from watchkeeper.promql.engine import Engine
from watchkeeper.promql.errors import PromQLEvalError
from watchkeeper.promql.formatting import format_value, format_values, result_to_api

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
MIN = 60_000


@pytest.fixture
def engine(open_store):
    store = open_store()

    def add(labels, points):
        ts = np.array([t for t, _ in points], dtype=np.int64)
        store.append_array(labels, ts, np.array([v for _, v in points], dtype=np.float64))

    add({"__name__": "up", "job": "a"}, [(0, 1.0), (MIN, 1.0), (2 * MIN, STALE)])
    add({"__name__": "up", "job": "b"}, [(0, 0.0), (MIN, 0.0), (2 * MIN, 0.0)])
    add({"__name__": "c", "job": "a"}, [(i * 15_000, float(i)) for i in range(40)])
    add({"__name__": "c", "job": "b"}, [(i * 15_000, float(i % 10)) for i in range(40)])
    e = Engine(store)
    e.add = add  # type: ignore[attr-defined]
    return e


def _vector(result):
    return {tuple(sorted(s["metric"].items())): float(s["value"][1])
            for s in result_to_api(result)["result"]}


@pytest.fixture
def open_store(tmp_path):
    from watchkeeper.tsdb.store import Store

    stores = []

    def _open():
        stores.append(Store.open(tmp_path / "data", background=False))
        return stores[-1]

    yield _open
    for s in stores:
        s.close()


def test_stale_marker_ends_a_series_before_the_lookback_does(engine):
    at_90s = _vector(engine.instant("up", 90_000))
    assert len(at_90s) == 2
    at_150s = _vector(engine.instant("up", 150_000))
    assert list(at_150s) == [(("__name__", "up"), ("job", "b"))]


def test_functions_drop_the_name_wherever_it_sorts_among_the_labels(engine):
    # label names starting with a capital letter sort before __name__
    engine.add({"__name__": "m", "Zone": "eu", "b": "x"}, [(0, -2.0)])
    engine.add({"__name__": "m", "a": "1"}, [(0, -3.0)])
    assert _vector(engine.instant("abs(m)", 0)) == {
        (("Zone", "eu"), ("b", "x")): 2.0, (("a", "1"),): 3.0}
    assert _vector(engine.instant("sum_over_time(m[1m])", 0)) == {
        (("Zone", "eu"), ("b", "x")): -2.0, (("a", "1"),): -3.0}


def test_stale_markers_are_not_samples_in_ranges(engine):
    result = _vector(engine.instant("count_over_time(up[5m])", 150_000))
    assert result[(("job", "a"),)] == 2  # the marker itself is not counted


def test_lookback_is_five_minutes(engine):
    assert _vector(engine.instant("up", 2 * MIN + 300_000))
    assert not _vector(engine.instant("up", 2 * MIN + 300_001))


def test_counter_reset_is_corrected_in_increase(engine):
    # c{job="b"} counts 0..9 four times: 39 increments of 1 minus resets
    plain = _vector(engine.instant("resets(c[10m])", 585_000))
    assert plain[(("job", "b"),)] == 3
    inc = _vector(engine.instant("increase(c[10m])", 585_000))
    # the same extrapolation applies to both: only the reset-corrected deltas differ (39 vs 36)
    assert inc[(("job", "b"),)] / inc[(("job", "a"),)] == pytest.approx(36 / 39)


def test_many_to_many_matching_is_an_error(engine):
    with pytest.raises(PromQLEvalError, match="many-to-many"):
        engine.instant("c + on() c", 300_000)


def test_one_to_one_with_multiple_left_matches_is_an_error(engine):
    with pytest.raises(PromQLEvalError, match="group_left/group_right"):
        engine.instant('c + on() c{job="a"}', 300_000)


def test_duplicate_label_sets_after_dropping_the_name_are_an_error(engine):
    with pytest.raises(PromQLEvalError, match="same labelset"):
        engine.instant('label_replace({job="a"}, "__name__", "", "", "")', 30_000)


def test_range_query_rejects_range_vectors_and_too_many_points(engine):
    with pytest.raises(PromQLEvalError, match="range vector"):
        engine.range("c[5m]", 0, MIN, 15_000)
    with pytest.raises(PromQLEvalError, match="11,000 points"):
        engine.range("c", 0, 20_000_000, 1_000)


def test_scalar_range_query_answers_as_one_series(engine):
    data = result_to_api(engine.range("time() * 2", 0, 2 * MIN, MIN))
    assert data["resultType"] == "matrix"
    assert data["result"] == [{"metric": {}, "values": [[0, "0"], [60, "120"], [120, "240"]]}]


def test_values_are_formatted_as_prometheus_does():
    assert [format_value(v) for v in (1.0, 0.1, 1e21, -2.5e-7, float("inf"), float("nan"))] == [
        "1", "0.1", "1000000000000000000000", "-0.00000025", "+Inf", "NaN"]


def test_bulk_formatting_agrees_with_the_definition():
    values = [0.0, -0.0, 1.0, -3.0, 1e16, 1e21, 1.5e-7, 0.1, float("nan"), float("inf"),
              float("-inf"), 123456789.125, 2.5e15 + 0.5]
    assert format_values(values) == [format_value(v) for v in values]
