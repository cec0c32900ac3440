"""The per-series spans of a batch read equal those of plain running sums, on long and
short series, in order or not, empty or not."""

import numpy as np
import pytest

from watchkeeper.tsdb import batch_read


def reference(n_chunks, counts, ts, start_ms, end_ms):
    """The spans as running sums over every sample compute them (the first version)."""
    samples_before = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=samples_before[1:])
    chunks_through = np.cumsum(n_chunks)
    first = samples_before[chunks_through - n_chunks]
    last = samples_before[chunks_through]
    running = [np.zeros(ts.size + 1, dtype=np.int64) for _ in range(3)]
    np.cumsum(ts[1:] <= ts[:-1], out=running[0][2:])
    np.cumsum(ts < start_ms, out=running[1][1:])
    np.cumsum(ts <= end_ms, out=running[2][1:])
    in_order = running[0][last] == running[0][np.minimum(first + 1, last)]
    lo = first + running[1][last] - running[1][first]
    hi = first + running[2][last] - running[2][first]
    return first, last, lo, hi, in_order


@pytest.mark.parametrize("long_series", [1, 10**9])  # each series searched / segment sums
@pytest.mark.parametrize("seed", range(16))
def test_spans_equal_running_sums(monkeypatch, long_series, seed):
    monkeypatch.setattr(batch_read, "LONG_SERIES", long_series)
    rng = np.random.default_rng(seed)
    n_chunks = rng.integers(0, 4, 30)
    counts = rng.integers(0, 200, int(n_chunks.sum()))
    parts, at = [], 0
    for n in n_chunks.tolist():
        for c in counts[at:at + n].tolist():
            base = int(rng.integers(0, 5000))
            chunk = np.sort(rng.choice(100_000, c, replace=False)) + base
            if rng.random() < 0.2 and c > 1:  # a chunk overlapping its neighbour
                chunk = chunk[::-1].copy()
            parts.append(chunk.astype(np.int64))
        at += n
    ts = np.concatenate(parts) if parts else np.empty(0, np.int64)
    # bounds on samples (where left and right differ) or between them
    bounds = rng.choice(ts, 2) if ts.size and seed % 2 else rng.integers(0, 110_000, 2)
    start, end = sorted(int(b) for b in bounds)
    got = batch_read._chunk_spans(n_chunks, counts, ts, start, end)
    want = reference(n_chunks, counts, ts, start, end)
    for name, g, w in zip(("first", "last"), got[:2], want[:2], strict=True):
        assert np.array_equal(g, w), name
    assert np.array_equal(got[4], want[4])
    ordered = want[4]  # lo and hi are promised only for series in order
    assert np.array_equal(got[2][ordered], want[2][ordered])
    assert np.array_equal(got[3][ordered], want[3][ordered])


@pytest.mark.parametrize("with_heads", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_a_block_read_holds_each_series_as_read_alone(with_heads, seed):
    """Series of in-order chunks (some adjacent, some empty, some overlapping) and heads or
    none: the block read holds, series by series, what a read of each alone holds."""
    rng = np.random.default_rng(seed)
    k = batch_read.READ_ALONE + 20
    chunks, head_ts, head_vals, h_from, h_to = [], [], [], [], []
    for _ in range(k):
        series, t = [], int(rng.integers(0, 50))
        for _ in range(int(rng.integers(0, 4))):
            n = int(rng.integers(0, 40))
            ts = t + np.cumsum(rng.integers(1, 5, n))
            if rng.random() < 0.1 and n > 1:  # a chunk overlapping its neighbour
                ts = ts - 30
            series.append((ts.astype(np.int64), rng.normal(size=n)))
            t = int(ts[-1]) if n else t
        chunks.append(series)
        n = int(rng.integers(0, 6)) if with_heads else 0
        h_from.append(sum(map(len, head_ts)))
        head_ts.append(t + np.arange(1, n + 1, dtype=np.int64))
        head_vals.append(rng.normal(size=n))
        h_to.append(h_from[-1] + n)
    start, end = sorted(int(x) for x in rng.integers(0, 150, 2))
    every = np.concatenate(head_ts)  # each head's part within the range, as the store gives
    spans = list(zip(h_from, h_to, strict=True))
    h_from = [a + int(np.searchsorted(every[a:b], start)) for a, b in spans]
    h_to = [a + int(np.searchsorted(every[a:b], end, "right")) for a, b in spans]
    heads = (every, np.concatenate(head_vals), np.array(h_from), np.array(h_to))
    got = batch_read.read_columns(list(range(k)), [str(i) for i in range(k)],
                                  np.ones(k, bool), chunks, heads, {}, start, end)
    at = 0
    for i, series in enumerate(chunks):
        ts, vals = batch_read._read_alone(series, (head_ts[i], head_vals[i]), start, end)
        size = int(got.sizes[i])
        assert got.timestamps[at : at + size].tolist() == ts.tolist()
        assert got.values[at : at + size].tolist() == vals.tolist()
        at += size
    assert at == got.timestamps.size
