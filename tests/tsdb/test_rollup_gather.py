"""Many blocks gathered into one read's buffers answer bit for bit as each block copied on
its own, whatever mix of layouts, codecs, scales and slices they are."""

import numpy as np

from watchkeeper.tsdb import rollups
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.rollup_blocks import COLUMNS, ROWS, DecodedBlock
from watchkeeper.tsdb.rollup_encode import encode_block
from watchkeeper.tsdb.rollup_gather import BlockView, assemble, gather
from watchkeeper.tsdb.rollups import HOUR_MS, MINUTE_MS, aggregate

from .test_rollup_blocks import LEGACY_FINE, LEGACY_HOURLY, bits, minute_day, sample_columns

ALL = tuple(range(len(COLUMNS)))


def mixed_blocks() -> list[DecodedBlock]:
    """Minute days of different scales (two decimals, integers, large values), hourly
    plain blocks, compact-codec blocks and the first layout's blocks."""
    out = []
    for seed in range(6):
        ts, vals = minute_day(seed)
        real = ~np.isnan(vals)  # stale markers keep their bits
        if seed % 3 == 1:
            vals[real] = np.round(vals[real] * 1000)
        elif seed % 3 == 2:
            vals[real] *= 1e9
        lead, rest = rollups._encode(aggregate(ts, vals, MINUTE_MS), MINUTE_MS)
        out.append(DecodedBlock(lead + rest))
    out.append(DecodedBlock(encode_block(sample_columns(300, 3, True), fast=True)))
    out.append(DecodedBlock(encode_block(sample_columns(200, 4, False), fast=False)))
    out += [DecodedBlock(LEGACY_HOURLY), DecodedBlock(LEGACY_FINE)]
    return out


def test_gathered_blocks_equal_each_block_copied_alone():
    rng = np.random.default_rng(0)
    blocks = mixed_blocks()
    for wanted in [ALL, (0, 3, 4), (0, 2), (0, 1, 5, 6, 9)]:
        for read in range(3):  # a block read again copies from floats
            views = []
            for block in blocks:
                lo = int(rng.integers(0, block.n))
                hi = int(rng.integers(lo + 1, block.n + 1))
                idx = None
                if rng.random() < 0.2:
                    idx = np.unique(rng.integers(lo, hi, 4))
                views.append(BlockView(block, lo, hi, idx))
            parts = [(views[:3], None), (views[3:4], None), ([], [c[:2] for c in
                     aggregate(np.array([5, 9]), np.array([1.0, 2.0]), MINUTE_MS)]),
                     (views[4:], None)]
            got = assemble(parts, wanted)
            rows = sorted(ROWS.index(COLUMNS[i]) for i in wanted if i)
            for (views_k, tail), cols in zip(parts, got, strict=True):
                if tail is not None:
                    assert cols[0].tolist() == tail[0].tolist()
                    continue
                want_stamps, want_values = [], []
                for v in views_k:
                    s = np.empty(v.size, np.int64)
                    v.block.stamps_into(v.lo, v.hi, s, v.idx)
                    out = np.empty((len(rows), v.size))
                    v.block.values_into(v.lo, v.hi, rows, out, v.idx)
                    want_stamps.append(s)
                    want_values.append(out)
                assert cols[0].tolist() == np.concatenate(want_stamps).tolist()
                for i, r in enumerate(rows):
                    want = np.concatenate([w[i] for w in want_values])
                    assert bits(cols[COLUMNS.index(ROWS[r])]) == bits(want), (read, ROWS[r])
                for i in set(range(1, len(COLUMNS))) - set(wanted):
                    assert cols[i] is None


def test_nothing_to_gather_gives_empty_buffers():
    bounds, stamps, values, columns = gather([], (0, 3))
    assert bounds == [0] and stamps.size == 0 and values.shape == (1, 0)
    assert columns == [COLUMNS.index("sum")]


def test_a_rollup_block_read_holds_what_the_per_series_read_does(open_store, tmp_path):
    store = open_store(tmp_path / "s")
    for i in range(5):
        ts, vals = minute_day(10 + i)
        store.append_array({"__name__": "g", "i": str(i)}, ts[i * 100 :], vals[i * 100 :])
    store.append_array({"__name__": "sparse"}, ts[::7200], vals[::7200])
    store.append_array({"__name__": "g", "i": "0"}, ts[-1:] + 2 * HOUR_MS, vals[-1:])
    store.maintain()
    every = [Matcher("__name__", "=~", ".+")]
    t0 = int(ts[0])
    for start, end in [(0, 2**62), (t0 + 3 * HOUR_MS + 5, t0 + 7 * HOUR_MS)]:
        for columns in [None, ("sum", "count"), ("last",)]:
            per = list(store.select_rollup(every, start, end, MINUTE_MS, columns))
            block = store.select_rollup_block(every, start, end, MINUTE_MS, columns)
            assert block.labels == [r.labels for r in per]
            assert block.sizes.tolist() == [len(r.timestamps) for r in per]
            assert block.timestamps.tolist() == np.concatenate(
                [r.timestamps for r in per]).tolist()
            names = columns or COLUMNS[1:]
            assert sorted(block.columns) == sorted(names)
            for c in names:
                assert bits(block.columns[c]) == bits(np.concatenate([getattr(r, c) for r in per]))
