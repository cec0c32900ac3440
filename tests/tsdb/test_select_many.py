"""Selecting many series at once returns each series exactly as it was appended."""

import struct

import numpy as np
import pytest

from watchkeeper.tsdb import parse_selector

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


@pytest.fixture
def store(open_store):
    s = open_store(ooo_window_ms=200_000_000)
    rng = np.random.default_rng(1)
    want = {}
    for k in range(60):
        ts = np.sort(rng.choice(100_000, rng.integers(0, 40), replace=False)) * 1000 + 10**12
        vals = rng.normal(size=ts.size)
        vals[::7] = STALE
        labels = {"__name__": "many", "k": str(k)}
        if k % 4 == 0 and ts.size:  # part persisted in chunks, the rest in the head
            cut = ts.size // 2
            s.append_array(labels, ts[:cut], vals[:cut])
            s.flush()
            s.append_array(labels, ts[cut:], vals[cut:])
        elif k % 4 == 1 and ts.size > 2:  # appended out of order: an unsorted head
            order = np.r_[1: ts.size, 0]
            for i in order:
                assert s.append(labels, int(ts[i]), float(vals[i]))
            s.commit()
        else:
            s.append_array(labels, ts, vals)
        want[str(k)] = (ts, vals)
    return s, want


@pytest.mark.parametrize(("start", "end"), [(0, 2**62), (10**12 + 20_000_000, 10**12 + 60_000_000),
                                            (10**12 + 99_000_000, 2**62), (0, 10**12 - 1)])
def test_every_series_reads_back_bit_exact_within_the_range(store, start, end):
    s, want = store
    got = {d.labels.get("k"): d for d in s.select(parse_selector("many"), start, end)}
    for k, (ts, vals) in want.items():
        inside = (ts >= start) & (ts <= end)
        if not inside.any():
            assert k not in got
            continue
        assert got[k].timestamps.tolist() == ts[inside].tolist()
        assert got[k].values.view(np.int64).tolist() == vals[inside].view(np.int64).tolist()


def test_series_read_together_are_private_and_disjoint(store):
    s, want = store
    first = list(s.select(parse_selector("many")))
    for d in first:
        d.values[:] = -1.0
        d.timestamps[:] = 0
    again = {d.labels.get("k"): d for d in s.select(parse_selector("many"))}
    for k, (ts, vals) in want.items():
        if ts.size:
            assert again[k].values.view(np.int64).tolist() == vals.view(np.int64).tolist()
