"""Reading many series at once: decode their chunks together, copy the common case in one go.

Why: a query over 50,000 series of small chunks spent most of its time in a few numpy
calls per series. Most series are in-order chunks followed by a newer in-order head;
those are decoded by one batch decoder and copied into one pair of arrays. The others
(overlapping chunks, out-of-order heads) are merged one by one exactly as a single series
is, the first sample of a timestamp winning. A handful of series, often big ones, are
read each on its own: the per-chunk decoder's fast paths win there.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from watchkeeper.tsdb.api import SeriesBlock, SeriesData
from watchkeeper.tsdb.codec import decode_chunk
from watchkeeper.tsdb.codec_batch import decode_chunks, ranges
from watchkeeper.tsdb.head import sort_dedupe
from watchkeeper.tsdb.labels import Labels

READ_ALONE = 4  # batches this small read each series on its own


Decoded = tuple[np.ndarray, np.ndarray]


def decode_missing(rowids: list[int], blobs: dict[int, bytes]) -> dict[int, Decoded]:
    """The chunks of rowids decoded, together when there are many: read-only arrays, as
    they are shared by every later read that finds them cached."""
    rowids = [r for r in rowids if r in blobs]
    if len(rowids) <= READ_ALONE:
        out = {r: decode_chunk(blobs[r]) for r in rowids}
    else:
        ts, vals, counts = decode_chunks([blobs[r] for r in rowids])
        ends = np.cumsum(counts).tolist()
        starts = [0, *ends[:-1]]
        out = {r: (ts[a:b], vals[a:b]) for r, a, b in zip(rowids, starts, ends, strict=True)}
        ts.flags.writeable = vals.flags.writeable = False
    for chunk_ts, chunk_vals in out.values():
        chunk_ts.flags.writeable = chunk_vals.flags.writeable = False
    return out


def split_block(block: SeriesBlock) -> Iterator[SeriesData]:
    """The series of a block that have samples, each a view of the block's arrays."""
    stop = 0
    for series_labels, size in zip(block.labels, block.sizes.tolist(), strict=True):
        if size:
            yield SeriesData(series_labels, block.timestamps[stop : stop + size],
                             block.values[stop : stop + size])
            stop += size


def read_columns(ids: list[int], labels: list[Labels], in_order: np.ndarray,
                 chunks: list[list[Decoded]], heads: tuple[np.ndarray, ...],
                 unsorted_heads: dict[int, tuple[np.ndarray, np.ndarray]], start_ms: int,
                 end_ms: int) -> SeriesBlock:
    """All of ids' samples within [start_ms, end_ms], end to end (a size per series).

    Most series are in-order chunks, then an in-order head newer than them: copied in
    one go into one pair of arrays. The others are merged one by one, sorted and
    deduplicated as a single series is (the first sample of a timestamp wins)."""
    head_ts, head_vals, h_from, h_to = heads
    if len(ids) <= READ_ALONE:
        return _block(labels, [
            _read_alone(parts, unsorted_heads.get(ids[i]) or (
                head_ts[h_from[i] : h_to[i]], head_vals[h_from[i] : h_to[i]]),
                start_ms, end_ms)
            for i, parts in enumerate(chunks)])
    n_chunks = np.fromiter(map(len, chunks), np.int64, len(chunks))
    flat = [c for series in chunks for c in series]
    counts = np.fromiter((c[0].size for c in flat), np.int64, len(flat))
    ts = np.concatenate([c[0] for c in flat]) if flat else np.empty(0, np.int64)
    vals = np.concatenate([c[1] for c in flat]) if flat else np.empty(0, np.float64)
    c_first, c_last, c_lo, c_hi, c_in_order, c_newest = _chunk_spans(
        n_chunks, counts, ts, start_ms, end_ms)
    h_first = head_ts[np.minimum(h_from, head_ts.size - 1)] if head_ts.size else h_from
    fast = in_order & c_in_order & (
        (c_last == c_first) | (h_to == h_from) | (h_first > c_newest))
    from_chunks = np.where(fast, c_hi - c_lo, 0)
    from_head = np.where(fast, h_to - h_from, 0)
    sizes = from_chunks + from_head
    ends = np.cumsum(sizes)
    if not from_head.any():  # the range is older than every head: chunks alone
        out_ts, out_vals = _kept(ts, vals, c_lo, from_chunks)
    else:
        out_ts = np.empty(int(sizes.sum()), dtype=np.int64)
        out_vals = np.empty(out_ts.size, dtype=np.float64)
        for into, src, lengths, src_ts, src_vals in (
                (ends - sizes, c_lo, from_chunks, ts, vals),
                (ends - from_head, h_from, from_head, head_ts, head_vals)):
            to, frm = ranges(into, lengths), ranges(src, lengths)
            out_ts[to], out_vals[to] = src_ts[frm], src_vals[frm]
    if fast.all():
        return SeriesBlock(labels, out_ts, out_vals, sizes)
    pieces = []
    for i, (sid, is_fast, size, stop) in enumerate(
            zip(ids, fast.tolist(), sizes.tolist(), ends.tolist(), strict=True)):
        if is_fast:
            pieces.append((out_ts[stop - size : stop], out_vals[stop - size : stop]))
            continue
        head = unsorted_heads.get(sid) or (head_ts[h_from[i] : h_to[i]],
                                           head_vals[h_from[i] : h_to[i]])
        span = slice(c_first[i], c_last[i])
        merged = sort_dedupe(np.concatenate((ts[span], head[0])),
                             np.concatenate((vals[span], head[1])))
        pieces.append(clip(*merged, start_ms, end_ms))
    return _block(labels, pieces)


def _kept(ts: np.ndarray, vals: np.ndarray, lo: np.ndarray, lengths: np.ndarray,
          ) -> tuple[np.ndarray, np.ndarray]:
    """ts and vals at [lo, lo + length) of each range (ranges in order and apart), end
    to end. Why a mask: a byte per sample and one compress, where lists of the indexes
    to copy from and to cost two 8-byte indexes per sample."""
    some = lengths > 0
    edge = np.zeros(ts.size + 1, np.int8)
    edge[lo[some]] = 1
    edge[(lo + lengths)[some]] -= 1  # a range may end where the next starts: 0 there
    mask = np.cumsum(edge[:-1], dtype=np.int8).view(bool)
    return ts[mask], vals[mask]


def _block(labels: list[Labels], pieces: list[tuple[np.ndarray, np.ndarray]]) -> SeriesBlock:
    sizes = np.fromiter((p[0].size for p in pieces), np.int64, len(pieces))
    if not pieces:
        return SeriesBlock(labels, np.empty(0, np.int64), np.empty(0, np.float64), sizes)
    return SeriesBlock(labels, np.concatenate([p[0] for p in pieces]),
                       np.concatenate([p[1] for p in pieces]), sizes)


def _read_alone(chunks: list[Decoded], head: tuple[np.ndarray, np.ndarray],
                start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """One series: its decoded chunks joined with its head, sorted and deduplicated
    only when they overlap. The arrays are the reader's own (cached chunks are shared)."""
    parts = list(chunks)
    if head[0].size:
        parts.append(head)
    if not parts:
        return head
    if len(parts) == 1:
        ts, vals = clip(*parts[0], start_ms, end_ms)
        return (ts.copy(), vals.copy()) if chunks else (ts, vals)
    ts = np.concatenate([p[0] for p in parts])
    vals = np.concatenate([p[1] for p in parts])
    if np.any(ts[1:] <= ts[:-1]):
        ts, vals = sort_dedupe(ts, vals)
    return clip(ts, vals, start_ms, end_ms)


def clip(ts: np.ndarray, vals: np.ndarray, start_ms: int, end_ms: int,
         ) -> tuple[np.ndarray, np.ndarray]:
    """The samples within [start_ms, end_ms] of sorted ``ts`` (views, no copy)."""
    lo, hi = np.searchsorted(ts, start_ms, "left"), np.searchsorted(ts, end_ms, "right")
    return ts[lo:hi], vals[lo:hi]


def _chunk_spans(n_chunks: np.ndarray, counts: np.ndarray, ts: np.ndarray, start_ms: int,
                 end_ms: int) -> tuple[np.ndarray, ...]:
    """Per series (its n_chunks chunks of counts samples each, in turn, decoded into
    ts): [first, last) of its samples in ts, [lo, hi) of those within [start_ms,
    end_ms], whether they are strictly increasing across its chunks (lo and hi are
    right only then) and the last of them.

    Why: one pass over all samples instead of a few numpy calls per series. Running
    sums over every sample cost 8 bytes written per sample; at 10,000 series of a few
    hours at 1 s (144 M samples) they were half the read, so the counts come from the
    series' own sorted samples (long series) or one segment sum (many short ones)."""
    samples_before = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=samples_before[1:])
    chunks_through = np.cumsum(n_chunks)
    first = samples_before[chunks_through - n_chunks]
    last = samples_before[chunks_through]
    # the second sample of each pair out of order: few (one per series boundary, mostly)
    turns = np.flatnonzero(ts[1:] <= ts[:-1]) + 1
    in_order = (np.searchsorted(turns, last) ==
                np.searchsorted(turns, np.minimum(first + 1, last)))
    if ts.size > LONG_SERIES * max(1, first.size):
        lo, hi = first.copy(), first.copy()
        for i, (a, b) in enumerate(zip(first.tolist(), last.tolist(), strict=True)):
            if b > a:
                lo[i] += np.searchsorted(ts[a:b], start_ms, "left")
                hi[i] += np.searchsorted(ts[a:b], end_ms, "right")
    else:
        lo = first + _segment_sums(ts < start_ms, first, last)
        hi = first + _segment_sums(ts <= end_ms, first, last)
    newest = ts[np.maximum(last - 1, 0)] if ts.size else last
    return first, last, lo, hi, in_order, newest


LONG_SERIES = 64  # samples per series on average above which each is searched on its own


def _segment_sums(flags: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """How many flags are set in each [first, last); the segments tile the array."""
    out = np.zeros(first.size, dtype=np.int64)
    some = last > first
    if some.any():  # empty segments have no start of their own for reduceat
        out[some] = np.add.reduceat(flags.view(np.uint8), first[some], dtype=np.int64)
    return out
