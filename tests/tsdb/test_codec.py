import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.tsdb.codec import decode_chunk, decode_floats, encode_chunk, encode_floats
from watchkeeper.tsdb.errors import CorruptChunkError

STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def bits(a: np.ndarray) -> list[int]:
    return np.asarray(a, dtype=np.float64).view(np.int64).tolist()


def regular_ts(n: int, step: int = 15_000) -> np.ndarray:
    return 1_700_000_000_000 + np.arange(n, dtype=np.int64) * step


float_bits = st.integers(min_value=0, max_value=2**64 - 1).map(
    lambda b: struct.unpack("<d", struct.pack("<Q", b))[0])
any_float = st.one_of(float_bits, st.floats(allow_nan=True), st.sampled_from(
    [0.0, -0.0, float("inf"), float("-inf"), STALE_NAN, 1.5, 0.001]))


@settings(max_examples=300, deadline=None)
@given(st.lists(any_float, min_size=1, max_size=300))
def test_any_float64_array_round_trips_bit_exact(values):
    vals = np.array(values, dtype=np.float64)
    ts, back = decode_chunk(encode_chunk(regular_ts(vals.size), vals))
    assert bits(back) == bits(vals)
    assert ts.tolist() == regular_ts(vals.size).tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**60), 2**60), min_size=1, max_size=200, unique=True),
       st.lists(st.decimals(-(10**6), 10**6, places=3, allow_nan=False), min_size=1))
def test_irregular_timestamps_and_decimal_values_round_trip(stamps, decimals):
    ts = np.array(sorted(stamps), dtype=np.int64)
    texts = [str(d) for d in (decimals * (ts.size // len(decimals) + 1))[: ts.size]]
    vals = np.array([float(t) for t in texts])
    out_ts, out_vals = decode_chunk(encode_chunk(ts, vals))
    assert out_ts.tolist() == ts.tolist()
    assert [repr(float(v)) for v in out_vals] == [repr(float(t)) for t in texts]


def test_stale_marker_stays_distinct_from_ordinary_nan_in_a_decimal_series():
    vals = np.round(np.linspace(0, 10, 500), 3)
    vals[100] = STALE_NAN
    vals[200] = float("nan")
    vals[300] = -0.0
    _, back = decode_chunk(encode_chunk(regular_ts(500), vals))
    assert bits(back) == bits(vals)
    assert back.view(np.int64)[100] == 0x7FF0000000000002
    assert back.view(np.int64)[200] != 0x7FF0000000000002


def test_three_decimal_gauge_compresses_below_two_bytes_per_sample():
    rng = np.random.default_rng(7)
    vals = np.round(50 + np.cumsum(rng.normal(0, 0.5, 5760)), 3)
    data = encode_chunk(regular_ts(5760), vals)
    assert len(data) / 5760 < 2.0
    assert bits(decode_chunk(data)[1]) == bits(vals)


def test_constant_series_costs_almost_nothing():
    data = encode_chunk(regular_ts(5000), np.full(5000, 42.0))
    assert len(data) < 100


def test_rejects_bad_input_arrays():
    with pytest.raises(ValueError):
        encode_chunk(np.array([], dtype=np.int64), np.array([]))
    with pytest.raises(ValueError):
        encode_chunk(np.array([1, 2]), np.array([1.0]))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_corrupted_chunk_bytes_raise_a_clean_error(data):
    vals = np.round(np.random.default_rng(1).normal(size=200).cumsum(), 2)
    good = bytearray(encode_chunk(regular_ts(200), vals))
    kind = data.draw(st.sampled_from(["flip", "truncate", "garbage"]))
    if kind == "flip":
        pos = data.draw(st.integers(0, len(good) - 1))
        good[pos] ^= 1 << data.draw(st.integers(0, 7))
        bad = bytes(good)
    elif kind == "truncate":
        bad = bytes(good[: data.draw(st.integers(0, len(good) - 1))])
    else:
        bad = data.draw(st.binary(max_size=400))
    with pytest.raises(CorruptChunkError):
        decode_chunk(bad)


def test_header_only_and_body_checksum_damage_are_reported():
    data = encode_chunk(regular_ts(10), np.arange(10.0))
    with pytest.raises(CorruptChunkError, match="checksum"):
        decode_chunk(data[:-1] + bytes([data[-1] ^ 0xFF]))
    with pytest.raises(CorruptChunkError):
        decode_chunk(data[:5])


def test_float_columns_round_trip():
    cols = [np.arange(100.0), np.full(100, np.nan), np.linspace(-1, 1, 100)]
    assert [bits(c) for c in decode_floats(encode_floats(cols))] == [bits(c) for c in cols]
