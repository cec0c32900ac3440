import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.tsdb import codec
from watchkeeper.tsdb.codec import (
    decode_chunk,
    decode_floats,
    encode_chunk,
    encode_floats,
)
from watchkeeper.tsdb.codec_batch import decode_chunks
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


def one_by_one(blobs: list[bytes]) -> tuple[list[int], list[int], list[int]]:
    parts = [decode_chunk(b) for b in blobs]
    return ([t for ts, _ in parts for t in ts.tolist()], [b for _, v in parts for b in bits(v)],
            [ts.size for ts, _ in parts])


def batch(blobs: list[bytes]) -> tuple[list[int], list[int], list[int]]:
    ts, vals, counts = decode_chunks(blobs)
    return ts.tolist(), bits(vals), counts.tolist()


def value_kinds(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One array per value layout the codec picks, each of n samples."""
    with_exceptions = np.round(rng.normal(size=n), 3)
    with_exceptions[:: max(n // 3, 1)] = STALE_NAN
    return {
        "xor": rng.normal(size=n),
        "xor_huge_ints": rng.integers(0, 2**62, n).astype(np.float64),
        "delta_2_decimals": np.round(rng.normal(size=n) * 100, 2),
        "delta_of_delta_counter": 3.5 + np.arange(n) * 1.5,
        "constant": np.full(n, 7.0),
        "exceptions": with_exceptions,
        "negative_zero": np.where(np.arange(n) % 2, -0.0, 1.25),
        "large_decimals": np.round(rng.uniform(-1, 1, n), 9),
    }


def test_batch_reads_exactly_what_each_chunk_reads_for_every_layout(monkeypatch):
    rng = np.random.default_rng(3)
    blobs = []
    for n in (1, 2, 3, 4, 12, 200, 2000):  # the biggest decode alone, amid the batch
        for step in (15_000, 1):
            for irregular in (False, True):
                ts = 1_700_000_000_000 + np.cumsum(
                    rng.integers(1, 1000, n) if irregular else np.full(n, step))
                for vals in value_kinds(n, rng).values():
                    blobs.append(encode_chunk(ts, vals))
    blobs.append(encode_chunk(np.array([-(2**62), 0, 2**62]), np.array([1.0, 2.0, 3.0])))
    monkeypatch.setattr(codec, "_zstd", None)  # zlib chunks, as written without the extra
    blobs += [encode_chunk(regular_ts(5), np.arange(5.0)), encode_chunk(regular_ts(1), [2.5])]
    monkeypatch.undo()
    assert batch(blobs) == one_by_one(blobs)
    assert batch(blobs[::-1]) == one_by_one(blobs[::-1])
    big = [b for b in blobs if codec.chunk_count(b) == 2000]
    assert big and batch(big) == one_by_one(big)


def test_batch_of_no_chunks_is_empty():
    ts, vals, counts = decode_chunks([])
    assert ts.size == vals.size == counts.size == 0
    assert (ts.dtype, vals.dtype) == (np.int64, np.float64)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=30,
                                   unique=True),
                          st.lists(any_float, min_size=1, max_size=30),
                          st.sampled_from([0, 2, 3])), min_size=1, max_size=12))
def test_batch_decode_matches_one_by_one_for_any_chunks(chunks):
    blobs = []
    for stamps, values, decimals in chunks:
        ts = np.array(sorted(stamps), dtype=np.int64)
        vals = np.resize(np.array(values, dtype=np.float64), ts.size)
        if decimals:  # mostly scaled decimals, with the floats drawn as exceptions
            vals = np.where(np.arange(ts.size) % 5 == 4, vals,
                            np.round(np.arange(ts.size) * 0.37, decimals))
        blobs.append(encode_chunk(ts, vals))
    assert batch(blobs) == one_by_one(blobs)


def sealed(body: bytes, n: int) -> bytes:
    """A chunk around any decompressed body: sound header and checksum, so only the
    body's layout can be wrong."""
    kind, packed = codec._compress(body, 3)
    return codec._HEADER.pack(codec._VERSION, kind, n, codec._crc(kind, n, packed)) + packed


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_damaged_chunk_in_a_batch_raises_like_it_does_alone(data):
    n = data.draw(st.integers(1, 40))
    vals = data.draw(st.sampled_from(list(value_kinds(n, np.random.default_rng(n)).values())))
    good = encode_chunk(regular_ts(n), vals)
    body = bytearray(codec._decompress(good[1], good[codec._HEADER.size :], 1 << 20))
    kind = data.draw(st.sampled_from(["flip", "truncate", "extend", "count", "garbage", "bytes"]))
    if kind == "flip":
        body[data.draw(st.integers(0, len(body) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "truncate":
        del body[data.draw(st.integers(0, len(body) - 1)) :]
    elif kind == "extend":
        body += data.draw(st.binary(min_size=1, max_size=20))
    elif kind == "count":
        n = data.draw(st.integers(1, 50))
    elif kind == "garbage":
        body = bytearray(data.draw(st.binary(max_size=300)))
    chunk = sealed(bytes(body), n) if kind != "bytes" else data.draw(st.binary(max_size=60))
    blobs = [encode_chunk(regular_ts(3), np.arange(3.0)), chunk]
    try:
        expected = one_by_one(blobs)
    except CorruptChunkError:
        with pytest.raises(CorruptChunkError):
            decode_chunks(blobs)
        return
    assert batch(blobs) == expected
