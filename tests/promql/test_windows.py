"""Windows of many series found in one search equal each series' own windows."""

import struct

import numpy as np
import pytest

from watchkeeper.promql.aggregations import _fold
from watchkeeper.promql.windows import series_windows, window_bounds
from watchkeeper.tsdb.api import SeriesData
from watchkeeper.tsdb.labels import Labels

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def make_series(seed: int) -> list[SeriesData]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(40):
        ts = np.sort(rng.choice(5_000, rng.integers(0, 30), replace=False)).astype(np.int64) * 100
        vals = rng.normal(size=ts.size)
        if k % 5 == 0:
            vals[::3] = STALE
        if k == 7:
            vals[:] = STALE
        out.append(SeriesData(Labels.of({"k": str(k)}), ts, vals))
    return out


ENDS = {
    "even": np.arange(-20_000, 520_000, 7_000, dtype=np.int64),  # a range query's steps
    "uneven": np.sort(np.random.default_rng(5).integers(-20_000, 520_000, 70)),
    "repeated": np.repeat(np.arange(-20_000, 520_000, 35_000, dtype=np.int64), 3),
    "one": np.array([250_000], dtype=np.int64),  # an instant query
    "fixed": np.full(9, 300_000, dtype=np.int64),  # @ pins every step's window
    "descending": np.arange(520_000, -20_000, -7_000, dtype=np.int64),
}


@pytest.mark.parametrize("ends_kind", sorted(ENDS))
@pytest.mark.parametrize("range_ms", [100, 12_345, 60_000, 600_000])
def test_one_search_finds_every_series_window(range_ms, ends_kind):
    found = make_series(range_ms)
    ends = ENDS[ends_kind]
    series, batch = series_windows(found, ends, range_ms)
    offset = 0
    for data, got in zip(found, series, strict=True):
        real = data.values.view(np.int64) != 0x7FF0000000000002
        ts, vals = data.timestamps[real], data.values[real]
        lo, hi = window_bounds(ts, ends, range_ms)
        assert got.labels == data.labels and got.ts.tolist() == ts.tolist()
        assert got.values.tolist() == vals.tolist()
        assert got.lo.tolist() == lo.tolist() and got.hi.tolist() == hi.tolist()
        if ts.size:  # the batch holds series with samples, windows offset to their place
            rows = slice(offset * len(ends), (offset + 1) * len(ends))
            assert (batch.lo[rows] - batch.lo[rows].min() >= 0).all()
            assert (batch.hi[rows] - batch.lo[rows]).tolist() == (hi - lo).tolist()
            assert batch.ts[batch.lo[rows][hi > lo]].tolist() == ts[lo[hi > lo]].tolist()
            offset += 1
    assert series_windows([], ends, range_ms) == ([], None)


def test_sum_adds_in_series_order_bit_for_bit():
    rng = np.random.default_rng(3)
    vals = rng.normal(size=(500, 7)) * 10.0 ** rng.integers(-8, 8, size=(500, 7))
    vals[5, 0], vals[9, 1], vals[2, 2] = np.nan, np.inf, -np.inf
    vals[:, 3] = -0.0
    mask = rng.random((500, 7)) < 0.7
    mask[:, 4] = False
    total, present = _fold("sum", vals, mask)
    for step in range(7):
        acc = None
        for v, m in zip(vals[:, step], mask[:, step], strict=True):
            if m:
                acc = v if acc is None else acc + v
        assert present[step] == (acc is not None)
        if acc is not None:
            assert struct.pack("<d", total[step]) == struct.pack("<d", acc)
