"""Many chunks decoded at once: the codec's integer work (unpacking, delta-of-deltas,
value modes) done once over every chunk of a read.

Why apart from ``codec``: the codec states the format one chunk at a time; this is the
same format read in bulk, which only reads need (a query over 50,000 series reads 50,000
small chunks). Whatever this path does not take goes through ``codec.decode_chunk``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

from watchkeeper.tsdb.codec import (
    _HEADER,
    _HEADER_AT,
    _I64_AT,
    _MAX_DECIMALS,
    _POW10,
    _U32_AT,
    _VAL_DELTA,
    _VAL_DOD,
    _VAL_XOR,
    _checked_body,
    _decode_body,
    _unzigzag,
    decode_chunk,
)
from watchkeeper.tsdb.errors import CorruptChunkError

_BATCH_MAX_SAMPLES = 1024  # bigger chunks decode alone: their own fast paths win there


def decode_chunks(blobs: Iterable[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode many chunks into one concatenation: (timestamps, values, samples per chunk).

    Why: a query over 50,000 series reads 50,000 small chunks, and decoding each on its
    own pays dozens of numpy calls for a dozen samples. Here each chunk is only checked,
    decompressed and its layout read in Python; the integer work runs once over all of
    them. A chunk the batch does not take (big ones, exceptions, zlib, anything unexpected
    or damaged) goes through decode_chunk: the same results, the same CorruptChunkError.
    """
    rows = array("q")  # _ROW columns per batched chunk
    raws: list[bytes] = []
    counts = array("q")  # samples per chunk, every chunk
    exact: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # chunk index -> decoded alone
    size = 0  # bytes in raws so far
    for index, data in enumerate(blobs):
        n = _HEADER_AT(data)[2] if len(data) >= _HEADER.size else 0
        # a big chunk decodes fastest alone (its own fast paths, overhead amortized)
        raw, n = _fast_body(data) if n <= _BATCH_MAX_SAMPLES else (b"", 0)
        layout = _layout(raw, n) if raw else None
        if layout is None:  # decompressed already when sound, else decode_chunk says why
            exact[index] = _decode_body(raw, n) if raw else decode_chunk(data)
            counts.append(exact[index][0].size)
            continue
        counts.append(n)
        rows.extend(layout)
        rows[-6] += size  # offsets of the packed integers within the joined bodies
        rows[-3] += size
        raws.append(raw)
        size += len(raw)
    per_chunk = np.frombuffer(counts, dtype=np.int64) if counts else np.empty(0, np.int64)
    if not rows:
        ts, vals = np.empty(0, np.int64), np.empty(0, np.float64)
    else:
        ts, vals = _decode_table(np.frombuffer(rows, dtype=np.int64).reshape(-1, _ROW),
                                 b"".join(raws))
    if not exact:
        return ts, vals, per_chunk.copy()
    return (*_with_exact(ts, vals, per_chunk, exact), per_chunk.copy())


def _with_exact(ts: np.ndarray, vals: np.ndarray, counts: np.ndarray,
                exact: dict[int, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The batch's samples and the alone-decoded chunks' samples, in chunk order."""
    if len(exact) == counts.size:  # nothing batched (a few big chunks): just join them
        parts = [exact[i] for i in range(counts.size)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    batched = np.ones(counts.size, dtype=bool)
    batched[list(exact)] = False
    in_batch = np.repeat(batched, counts)
    all_ts = np.empty(in_batch.size, dtype=np.int64)
    all_vals = np.empty(in_batch.size, dtype=np.float64)
    all_ts[in_batch], all_vals[in_batch] = ts, vals
    starts = np.cumsum(counts) - counts
    for index, (exact_ts, exact_vals) in exact.items():
        at = slice(int(starts[index]), int(starts[index] + counts[index]))
        all_ts[at], all_vals[at] = exact_ts, exact_vals
    return all_ts, all_vals


# a chunk's layout: sample count; first timestamp, first delta; value mode, decimals,
# first value (XOR: its bits), first value delta (DOD only); then (byte offset, width,
# count) of the packed timestamp delta-of-deltas and of the packed values
_ROW = 13


def _decode_table(table: np.ndarray, joined: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps and values of every chunk of the table, concatenated."""
    counts, first_ts, d1, mode, p, first_v, first_d1 = table[:, :7].T
    starts = np.cumsum(counts) - counts
    packs = np.concatenate((table[:, 7:10], table[:, 10:13]))  # timestamps first
    ints = _unpack_many(joined, packs)
    ts_packed, v_packed = np.split(ints, [int(table[:, 9].sum())])
    ts = _second_order(counts, starts, first_ts, d1, _unzigzag(ts_packed))
    vals = _decode_value_columns(counts, starts, mode, p, first_v, first_d1, v_packed)
    return ts, vals


def _fast_body(data: bytes) -> tuple[bytes, int]:
    """The decompressed body of a sound chunk and its sample count; (b"", 0) for a
    damaged one, which decode_chunk then rejects with the right error."""
    try:
        return _checked_body(data)
    except CorruptChunkError:
        return b"", 0


_Layout = tuple[int, int, int, int, int, int, int, int, int, int, int, int, int]


def _layout(raw: bytes, n: int) -> _Layout | None:
    """The _ROW columns of a decompressed chunk body (offsets within it), or None when
    the batch cannot take it (exceptions, an unknown or inconsistent layout)."""
    size = len(raw)
    if n == 1:
        if size < 8:
            return None
        first_ts, d1, pos = _I64_AT(raw, 0)[0], 0, 8
        ts_at, ts_w, ts_m = pos, 0, 0
    else:
        if size < 18:
            return None
        first_ts, d1 = _I64_AT(raw, 0)[0], _I64_AT(raw, 8)[0]
        ts_at, ts_w, ts_m = 17, raw[16], n - 2
        if ts_w > 8:
            return None
        pos = 17 + ts_w * ts_m
    if pos + 10 > size:
        return None
    mode = raw[pos]
    if mode == _VAL_XOR:
        first_v, width = _I64_AT(raw, pos + 1)[0], raw[pos + 9]
        m = n - 1
        if width > 8 or pos + 10 + width * m != size:
            return None
        return n, first_ts, d1, mode, 0, first_v, 0, ts_at, ts_w, ts_m, pos + 10, width, m
    if mode not in (_VAL_DELTA, _VAL_DOD) or pos + 11 > size:
        return None
    p, first_v = raw[pos + 1], _I64_AT(raw, pos + 2)[0]
    pos += 10
    first_d1 = 0
    if mode == _VAL_DOD:
        if n < 3 or pos + 9 > size:
            return None
        first_d1 = _I64_AT(raw, pos)[0]
        pos += 8
    width = raw[pos]
    m = n - (2 if mode == _VAL_DOD else 1)
    end = pos + 1 + width * m
    if p > _MAX_DECIMALS or width > 8 or end + 4 != size or _U32_AT(raw, end)[0]:
        return None
    return n, first_ts, d1, mode, p, first_v, first_d1, ts_at, ts_w, ts_m, pos + 1, width, m


def _unpack_many(buf: bytes, packs: np.ndarray) -> np.ndarray:
    """The inverse of _pack_u64 for many (byte offset, width, count) sections of buf,
    concatenated."""
    at, width, count = packs.T
    total = int(count.sum())
    out = np.zeros((total, 8), dtype=np.uint8)
    if not total:
        return out.view("<u8").reshape(total).astype(np.uint64, copy=False)
    data = np.frombuffer(buf, dtype=np.uint8)
    byte_at = ranges(at, count)
    step = np.repeat(count, count)
    elem_width = np.repeat(width, count)
    for k in range(int(width.max())):
        has = np.flatnonzero(elem_width > k)
        out[has, k] = data[byte_at[has] + k * step[has]]
    return out.view("<u8").reshape(total).astype(np.uint64, copy=False)


def _segment_cumsum(x: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sums restarting at each segment (int64, wrapping like per-segment cumsum)."""
    total = np.cumsum(x, dtype=np.int64)
    before = np.concatenate(([0], total))[starts]
    return total - np.repeat(before, counts)


def _spread(counts: np.ndarray, starts: np.ndarray, first: np.ndarray, second: np.ndarray,
            rest: np.ndarray, rest_skip: np.ndarray) -> np.ndarray:
    """Per segment: [first, second, rest...], rest taking each segment's length minus
    rest_skip elements; second is dropped for one-element segments."""
    out = np.zeros(int(counts.sum()), dtype=np.int64)
    out[starts] = first
    two = counts > 1
    out[starts[two] + 1] = second[two]
    out[ranges(starts + rest_skip, np.maximum(counts - rest_skip, 0))] = rest
    return out


def ranges(firsts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices first, first + 1, ... first + length - 1 of each range, concatenated."""
    at = np.cumsum(lengths) - lengths
    return np.repeat(firsts - at, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)


def _second_order(counts: np.ndarray, starts: np.ndarray, first: np.ndarray, d1: np.ndarray,
                  dod: np.ndarray) -> np.ndarray:
    """first, first + d1, ... from delta-of-deltas: the double running sum of
    [first, d1 - first, dod...] (every step wraps as the one-chunk decoder's does)."""
    skip = np.full(counts.size, 2, dtype=np.int64)
    seq = _spread(counts, starts, first, d1 - first, dod.view(np.int64), skip)
    return _segment_cumsum(_segment_cumsum(seq, starts, counts), starts, counts)


def _decode_value_columns(counts: np.ndarray, starts: np.ndarray, mode: np.ndarray,
                          p: np.ndarray, first: np.ndarray, first_d1: np.ndarray,
                          packed: np.ndarray) -> np.ndarray:
    """Values of many chunks: XOR, delta and delta-of-delta decimals side by side."""
    per_mode = np.repeat(mode, counts)
    rest_skip = np.where(mode == _VAL_DOD, 2, 1)
    xor_mode = mode == _VAL_XOR
    rest_is_xor = np.repeat(xor_mode, np.maximum(counts - rest_skip, 0))
    rest = np.where(rest_is_xor, packed.view(np.int64), _unzigzag(packed))
    dod = mode == _VAL_DOD
    second = np.where(dod, first_d1 - first, 0)
    seq = _spread(counts, starts, first, second, rest, rest_skip)
    out = np.empty(seq.size, dtype=np.int64)
    if xor_mode.any():
        acc = np.bitwise_xor.accumulate(seq)
        before = np.concatenate(([0], acc))[starts]
        out[:] = acc ^ np.repeat(before, counts)
    if not xor_mode.all():
        sums = _segment_cumsum(seq, starts, counts)
        if dod.any():
            sums = np.where(per_mode == _VAL_DOD, _segment_cumsum(sums, starts, counts), sums)
        decimal = per_mode != _VAL_XOR
        divisor = np.repeat(_POW10[p], counts)[decimal]  # x / 1.0 is x: no need to skip p=0
        out[decimal] = (sums[decimal].astype(np.float64) / divisor).view(np.int64)
    return out.view(np.float64)
