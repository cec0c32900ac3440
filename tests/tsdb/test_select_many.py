"""Selecting many series at once returns each series exactly as it was appended."""

import struct

import numpy as np
import pytest

from watchkeeper.tsdb import parse_selector
from watchkeeper.tsdb.codec import decode_chunk
from watchkeeper.tsdb.head import sort_dedupe
from watchkeeper.tsdb.store import Store

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


def read_alone(s, sid, start, end):
    """One series the way a single-series read works: every chunk decoded by itself, then
    the head, stably sorted with the first sample of a timestamp kept, then clipped."""
    parts = [decode_chunk(data) for _, _, data in s.db.chunks([sid], start, end)]
    parts.append(s.head.by_id[sid].head_arrays())
    ts, vals = sort_dedupe(np.concatenate([p[0] for p in parts]),
                           np.concatenate([p[1] for p in parts]))
    inside = (ts >= start) & (ts <= end)
    return ts[inside], vals[inside]


@pytest.fixture
def tangled(open_store):
    """Series whose chunks overlap each other and their heads, in every value layout."""
    s = open_store(ooo_window_ms=10**9)
    rng = np.random.default_rng(5)
    t0 = 10**12
    layouts = {
        "xor": lambda n: rng.normal(size=n),
        "decimal": lambda n: np.round(rng.normal(size=n) * 100, 2),
        "counter": lambda n: 1.5 * np.arange(n) + 7,
        "stale": lambda n: np.where(np.arange(n) % 3 == 0, STALE, np.round(rng.normal(size=n), 1)),
    }
    series = [({"__name__": "tangled", "layout": name, "k": str(k)}, values)
              for name, values in layouts.items() for k in range(10)]
    data = {}
    for labels, values in series:
        ts = t0 + np.arange(0, 40_000, 1000) + int(labels["k"])
        data[labels["k"], labels["layout"]] = ts, values(ts.size)

    def each(ks, write):
        for labels, _ in series:
            k = int(labels["k"])
            if k in ks:
                write(labels, k, *data[labels["k"], labels["layout"]])
        s.commit()

    def older(labels, k, ts, vals):  # below the newest persisted sample, and one at it
        s.append(labels, int(ts[5]) - 500, float(vals[0]))
        s.append(labels, int(ts[7]), 99.0)

    each({1, 2, 3, 4, 5, 6, 7, 9}, lambda labels, k, ts, vals: s.append_array(labels, ts[:20],
                                                                              vals[:20]))
    s.flush()
    each({3, 4, 5, 6, 7}, older)
    s.flush()  # a second chunk overlapping the first
    each({2}, older)  # an unsorted head over in-order chunks
    each({1, 2, 3, 5, 6, 7, 8}, lambda labels, k, ts, vals: s.append_array(labels, ts[20:],
                                                                           vals[20:]))
    each({0}, lambda labels, k, ts, vals: s.append_array(labels, ts, vals))
    # unsorted heads: over overlapping chunks, inside the head's own span, without chunks
    each({5, 6, 8}, lambda labels, k, ts, vals: s.append(labels, int(ts[3 if k == 5 else 25]) - 1,
                                                         -float(k)))
    return s


@pytest.mark.parametrize(("start", "end"), [(0, 2**62), (10**12 + 6_000, 10**12 + 30_000),
                                            (10**12 + 25_000, 2**62), (10**12 + 1, 10**12 + 2),
                                            (0, 10**12 + 19_500)])
@pytest.mark.parametrize("batch", [1, 7, 4096])
def test_reading_many_series_matches_reading_each_alone(tangled, start, end, batch, monkeypatch):
    monkeypatch.setattr(Store, "_READ_BATCH", batch)
    s = tangled
    got = {d.labels: d for d in s.select(parse_selector("tangled"), start, end)}
    for sid, series in s.head.by_id.items():
        ts, vals = read_alone(s, sid, start, end)
        if not ts.size:
            assert series.labels not in got
            continue
        assert got[series.labels].timestamps.tolist() == ts.tolist()
        assert got[series.labels].values.view(np.int64).tolist() == vals.view(np.int64).tolist()


def test_tangled_series_read_together_are_private_and_disjoint(tangled):
    before = {d.labels: (d.timestamps.copy(), d.values.copy())
              for d in tangled.select(parse_selector("tangled"))}
    for d in tangled.select(parse_selector("tangled")):
        d.timestamps[:] = 0
        d.values[:] = -1.0
    for d in tangled.select(parse_selector("tangled")):
        assert d.timestamps.tolist() == before[d.labels][0].tolist()
        assert d.values.view(np.int64).tolist() == before[d.labels][1].view(np.int64).tolist()
