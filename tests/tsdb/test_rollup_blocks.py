"""Rollup blocks round-trip bit-exact, decode any slice and columns, and old blocks still read."""

import struct

import numpy as np
import pytest

from watchkeeper.tsdb import rollups
from watchkeeper.tsdb.errors import CorruptChunkError
from watchkeeper.tsdb.rollup_blocks import (
    _KIND_FILL,
    COLUMNS,
    NO_SAMPLE_BITS,
    ROWS,
    DecodedBlock,
    decode_block,
)
from watchkeeper.tsdb.rollup_encode import encode_block
from watchkeeper.tsdb.rollups import HOUR_MS, MINUTE_MS, aggregate, aggregate_many

from .test_rollups_retention import STALE_NAN, T0

ALL = tuple(range(len(COLUMNS)))
# blocks written by the first layout (six per-column frames, no at_start): hourly and finer
LEGACY_HOURLY = bytes.fromhex(
    "0400000006003100000025e7f1ad01010400000070b26f5828b52ffd201ef10000010200001047d08b0100"
    "0080ee36000000000003000000dd006d000000000313000000b73be991cbf3ffffffffffff0302521112ff"
    "140000d51b0313000000c7c719d93200000000000000020252c800130100005e010421000000aa63229952"
    "0000000000002440343333333333d33f0000000000001dc00000000000001040030f0000003fa0385c0100"
    "00000000000000015204050200030f0000000d005f2205000000000000000101520f190023"
)
LEGACY_FINE = bytes.fromhex(
    "0400000006003100000025e7f1ad01010400000070b26f5828b52ffd201ef10000010200001047d08b0100"
    "0080ee36000000000003000000dd006d000000000029000000e0b6d73d0101040000003622fbb028b52ffd"
    "2016b10000010103dc0500000000000002dcfdaa0529370000000000290000007cec898f01010400000"
    "0d0a43f4028b52ffd2016b10000010102fa00000000000000029625bc00020200000000002b0000001d11"
    "b976010104000000db31f81828b52ffd2023c500008001002440083434003333f7ce0d7fff800200bac3"
    "07800500260000009251f34e010104000000b254402b28b52ffd2013990000010100050000000000000001"
    "0205030000000000260000002c473df9010104000000880b5fef28b52ffd20139900000101011400000000"
    "0000000114314600000000"
)
LEGACY_COLUMNS = [
    T0 + np.array([0, 3600_000, 7200_000, 14400_000]),
    [1.5, 2.25, -3.125, 4.0],
    [2.5, 3.25, 0.5, 4.0],
    [10.0, 0.1 + 0.2, -7.25, 4.0],
    [5.0, 6.0, 3.0, 1.0],
    [2.0, 3.0, 0.5, 4.0],
]


def bits(a) -> list[int]:
    return np.asarray(a, np.float64).view(np.int64).tolist()


def sample_columns(n: int, seed: int, decimals: bool, on_start: bool = False):
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.choice(n * 60, n * 12, replace=False)) * 300_000 + (0 if on_start else 7)
    vals = rng.normal(100, 20, ts.size)
    vals = np.round(vals, 3) if decimals else vals
    vals[::97] = STALE_NAN
    return aggregate(T0 + ts, vals, HOUR_MS)


@pytest.mark.parametrize("blob", [LEGACY_HOURLY, LEGACY_FINE])
def test_blocks_of_the_first_layout_still_decode_with_no_sample_at_start(blob):
    got = decode_block(blob, ALL)
    assert got[0].tolist() == LEGACY_COLUMNS[0].tolist()
    for want, col in zip(LEGACY_COLUMNS[1:], got[1:], strict=False):
        assert bits(col) == bits(want)
    assert got[COLUMNS.index("at_start")].view(np.int64).tolist() == [NO_SAMPLE_BITS] * 4
    for name in COLUMNS[COLUMNS.index("first"):]:  # the third layout's rows
        assert np.isnan(got[COLUMNS.index(name)]).all()


@pytest.mark.parametrize(("fast", "squeeze"), [(True, False), (True, True), (False, False)])
@pytest.mark.parametrize("decimals", [True, False])
@pytest.mark.parametrize("on_start", [True, False])
def test_every_column_round_trips_bit_exact(fast, squeeze, decimals, on_start):
    cols = sample_columns(400, 1, decimals, on_start)
    got = decode_block(encode_block(cols, fast=fast, squeeze=squeeze), ALL)
    assert got[0].tolist() == cols[0].tolist()
    for want, col in zip(cols[1:], got[1:], strict=True):
        assert bits(col) == bits(want)


def test_any_slice_of_any_rows_decodes_into_place():
    cols = sample_columns(300, 2, True, on_start=True)
    block = DecodedBlock(encode_block(cols, fast=True))
    named = dict(zip(COLUMNS, cols, strict=True))
    for lo, hi in [(0, block.n), (5, 37), (31, 33), (64, 64 + 32), (block.n - 3, block.n)]:
        for wanted in [(0, 1, 2, 3, 4, 5), (1,), (0, 2), (1, 3, 4), (4,), (3, 5)]:
            out = np.full((len(wanted), hi - lo), -1.0)
            block.values_into(lo, hi, wanted, out)
            for row, r in zip(out, wanted, strict=True):
                assert bits(row) == bits(named[ROWS[r]][lo:hi])
        stamps = np.empty(hi - lo, np.int64)
        block.stamps_into(lo, hi, stamps)
        assert stamps.tolist() == named["timestamps"][lo:hi].tolist()


def minute_day(seed: int):
    """A day of 1 s samples of a two-decimal random walk, with a gap and stale markers."""
    ts = T0 + np.arange(86_400, dtype=np.int64) * 1000
    vals = np.round(50 + np.cumsum(np.random.default_rng(seed).normal(0, 0.3, ts.size)), 2)
    vals[::1009] = STALE_NAN
    keep = (ts < T0 + 5 * HOUR_MS) | (ts >= T0 + 6 * HOUR_MS + 17_000)
    return ts[keep], vals[keep]


@pytest.mark.parametrize("hour", [0, 5, 6, 13, 23])
def test_any_hour_of_a_compressed_day_of_minutes_equals_its_raw_samples(hour):
    ts, vals = minute_day(6)
    block = DecodedBlock(b"".join(rollups._encode(aggregate(ts, vals, MINUTE_MS), MINUTE_MS)))
    start = T0 + hour * HOUR_MS
    inside = (ts >= start) & (ts < start + HOUR_MS)
    want = dict(zip(COLUMNS, aggregate(ts[inside], vals[inside], MINUTE_MS), strict=True))
    lo, hi = block.bounds(start, start + HOUR_MS - 1)
    stamps = np.empty(hi - lo, np.int64)
    block.stamps_into(lo, hi, stamps)
    assert stamps.tolist() == want["timestamps"].tolist()
    for _ in range(3):  # a cached block: its second read on copies from floats
        out = np.empty((len(ROWS), hi - lo))
        block.values_into(lo, hi, range(len(ROWS)), out)
        for row, name in zip(out, ROWS, strict=True):
            assert bits(row) == bits(want[name]), name
        if hi > lo:
            picked = np.empty((len(ROWS), 2))
            block.values_into(lo, hi, range(len(ROWS)), picked, np.array([lo, hi - 1]))
            assert bits(picked) == bits(out[:, [0, -1]])


def test_a_day_of_minutes_in_the_compact_codec_reads_as_the_compressed_one():
    """Stores written before minute blocks were compressed frames still read the same."""
    cols = aggregate(*minute_day(7), MINUTE_MS)
    old = decode_block(encode_block(cols, fast=False), ALL)
    new = decode_block(b"".join(rollups._encode(cols, MINUTE_MS)), ALL)
    for a, b in zip(old, new, strict=True):
        assert bits(a) == bits(b)


def test_bounds_select_buckets_starting_within_the_range():
    cols = sample_columns(50, 3, True)
    block = DecodedBlock(encode_block(cols, fast=True))
    ts = cols[0]
    for start, end in [(ts[0], ts[-1]), (ts[3] + 1, ts[9]), (ts[3], ts[9] - 1), (0, ts[0] - 1)]:
        lo, hi = block.bounds(int(start), int(end))
        assert ts[lo:hi].tolist() == ts[(ts >= start) & (ts <= end)].tolist()


def test_an_hourly_block_of_decimal_gauges_costs_about_two_bytes_a_value():
    ts = T0 + np.arange(365 * 288, dtype=np.int64) * 300_000
    vals = np.round(100 + np.cumsum(np.random.default_rng(4).normal(0, 0.25, ts.size)), 3)
    cols = aggregate(ts, vals, HOUR_MS)
    # eleven value rows; at_start and first too, as the samples sit on every hour, and
    # resets (a random walk drops often) as plain floats
    assert len(encode_block(cols, fast=True)) < 30 * cols[0].size


@pytest.mark.parametrize("squeeze", [False, True])
def test_a_damaged_frame_header_is_a_clean_error(squeeze):
    blob = bytearray(encode_block(sample_columns(40, 5, True), fast=True, squeeze=squeeze))
    for pos in range(len(blob)):
        damaged = bytearray(blob)
        damaged[pos] ^= 0x04
        try:
            decode_block(bytes(damaged), ALL)
        except CorruptChunkError:
            continue
        raise AssertionError(f"flip at byte {pos} went unnoticed")


def test_many_series_aggregate_as_each_does_alone():
    rng = np.random.default_rng(6)
    series = []
    for k in range(6):
        ts = T0 + np.sort(rng.choice(10_000, 600, replace=False)).astype(np.int64) * 30_000
        vals = rng.normal(0, 5, ts.size)
        vals = np.round(vals, k % 3) if k != 4 else vals  # one series of arbitrary floats
        vals[:: 50 + k] = STALE_NAN
        series.append((ts, vals))
    series.append((np.empty(0, np.int64), np.empty(0)))
    series.append((np.array([T0], np.int64), np.array([STALE_NAN])))
    for res in (MINUTE_MS, HOUR_MS):
        together = aggregate_many(series, res)
        for (ts, vals), got in zip(series, together, strict=True):
            alone = aggregate(ts, vals, res)
            assert alone[0].tolist() == got[0].tolist()
            for a, b in zip(alone[1:], got[1:], strict=True):
                assert bits(a) == bits(b)


def test_sums_of_decimals_are_the_exact_sum_rounded_once():
    ts = T0 + np.arange(2, dtype=np.int64)
    (s,) = aggregate(ts, np.array([0.1, 0.2]), HOUR_MS)[3]
    assert 0.1 + 0.2 != 0.3
    assert struct.pack("<d", s) == struct.pack("<d", 0.3)


def test_a_store_with_first_layout_blocks_rebuilds_the_days_it_still_has(open_store, tmp_path):
    from watchkeeper.tsdb.matchers import Matcher

    store = open_store(tmp_path / "old")
    ts = T0 + np.arange(3 * 24 * 60, dtype=np.int64) * 60_000  # on every hour: at_start
    store.append_array({"__name__": "g"}, ts, np.round(np.sin(np.arange(ts.size)), 3))
    store.maintain()
    want = list(store.select_rollup([Matcher("__name__", "=", "g")], 0, 2**62, HOUR_MS))
    conn = store.db.conn  # as the first layout left it: no at_start, no layout mark
    conn.execute("UPDATE rollups SET data=?, rest=NULL WHERE res=?", (LEGACY_HOURLY, HOUR_MS))
    conn.execute("DELETE FROM meta WHERE key='rollup_layout'")
    old = list(store.select_rollup([Matcher("__name__", "=", "g")], 0, 2**62, HOUR_MS))
    assert old[0].at_start.view(np.int64)[0] == NO_SAMPLE_BITS
    store.maintain()
    (got,) = store.select_rollup([Matcher("__name__", "=", "g")], 0, 2**62, HOUR_MS)
    assert got.timestamps.tolist() == want[0].timestamps.tolist()
    assert bits(got.at_start) == bits(want[0].at_start) and bits(got.sum) == bits(want[0].sum)


def test_a_store_with_compact_minute_blocks_answers_as_one_with_compressed(open_store, tmp_path):
    """Users' stores hold minute blocks of the compact codec: reads of them are unchanged."""
    from watchkeeper.tsdb.matchers import Matcher

    store = open_store(tmp_path / "old")
    ts, vals = minute_day(8)
    store.append_array({"__name__": "g"}, ts, vals)
    store.append_array({"__name__": "g"}, ts[-1:] + HOUR_MS, vals[-1:])  # closes the day
    store.maintain()
    g = [Matcher("__name__", "=", "g")]
    start, end = T0 + 5 * HOUR_MS + 7, T0 + 9 * HOUR_MS

    def answer():
        (got,) = store.select_rollup(g, start, end, MINUTE_MS)
        return [got.timestamps.tolist()] + [bits(getattr(got, c)) for c in COLUMNS[1:]]

    new = answer()
    conn = store.db.conn
    rows = conn.execute("SELECT window, data, rest FROM rollups WHERE res=?",
                        (MINUTE_MS,)).fetchall()
    assert rows
    for window, data, rest in rows:  # as written before: whole in data, rest NULL
        compact = encode_block(decode_block(data + rest, ALL), fast=False)
        conn.execute("UPDATE rollups SET data=?, rest=NULL WHERE res=? AND window=?",
                     (compact, MINUTE_MS, window))
    assert answer() == new
    inside = (ts >= T0 + 6 * HOUR_MS) & (ts < end)  # whole buckets, 06:00 to 09:00, from raw
    want = aggregate(ts[inside], vals[inside], MINUTE_MS)
    a = new[0].index(int(want[0][0]))
    assert new[0][a : a + want[0].size] == want[0].tolist()
    for name in ("min", "max", "sum", "count", "last"):
        assert new[COLUMNS.index(name)][a : a + want[0].size] == bits(want[COLUMNS.index(name)])


def test_a_regular_day_of_minutes_keeps_count_as_one_value():
    """Scrapes every second: each minute counts 60, so the count frame is a single fill
    value and a mean (sum and count) decompresses the sum frame alone."""
    ts = T0 + np.arange(86_400, dtype=np.int64) * 1000
    vals = np.round(50 + np.random.default_rng(1).normal(0, 3, ts.size), 2)
    block = DecodedBlock(b"".join(rollups._encode(aggregate(ts, vals, MINUTE_MS), MINUTE_MS)))
    count = ROWS.index("count")
    (frame,) = [f for f, (first, n) in zip(block.frames, block.spans, strict=True)
                if first <= count < first + n]
    assert frame[0] == _KIND_FILL
    out = np.empty((2, 60))
    block.values_into(120, 180, sorted([count, ROWS.index("sum")]), out)
    assert out[0].tolist() == [60.0] * 60
