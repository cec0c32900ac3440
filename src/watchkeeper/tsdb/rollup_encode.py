"""Rollup blocks written: the encoding side of ``rollup_blocks`` (which holds the layout
and reads them).

Why apart: the reader is what every query runs; the writer only runs when maintenance
rolls up finished hours, and each stays small enough to read whole.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Sequence

import numpy as np

from watchkeeper.tsdb.codec import decimal_scale, encode_floats
from watchkeeper.tsdb.rollup_blocks import (
    _FRAME,
    _GRID,
    _HEAD,
    _KIND_CODEC,
    _KIND_DOUBLES,
    _KIND_FILL,
    _KIND_GRID,
    _KIND_SEGMENTS,
    _ROW_FRAMES,
    _ROWS_OF,
    _SEGMENTS,
    _WIDTHS,
    COLUMNS,
    LEAD_ROWS,
    ROWS,
    SEGMENT,
    _frames,
    _span,
    _zstd,
)

_COMPRESSOR = threading.local()


def _frame(kind: int, body: bytes) -> bytes:
    return _FRAME.pack(kind, len(body), zlib.crc32(body)) + body


def _squeeze(raw: bytes, squeeze: bool) -> bytes:
    """A frame's raw bytes behind their tag: zstd (zlib without it) when asked and smaller."""
    if squeeze:
        small = (b"Z" + _compressor().compress(raw) if _zstd is not None
                 else b"z" + zlib.compress(raw, 1))
        if len(small) <= len(raw):
            return small
    return b"R" + raw


def _compressor():  # type: ignore[no-untyped-def]
    comp = getattr(_COMPRESSOR, "c", None)
    if comp is None:  # not thread-safe: one per thread
        comp = _COMPRESSOR.c = _zstd.ZstdCompressor(level=1, write_checksum=False)  # type: ignore[union-attr]
    return comp


def _rows_frame(first: int, rows: np.ndarray, fast: bool, squeeze: bool = False) -> bytes:
    """One frame of value rows (a (rows, n) float64 array)."""
    head = _ROWS_OF.pack(first, rows.shape[0])
    bits = rows.view(np.int64)
    if bool((bits == bits.flat[0]).all()):
        return _frame(_KIND_FILL, head + struct.pack("<q", int(bits.flat[0])))
    if not fast:
        return _frame(_KIND_CODEC, head + encode_floats(list(rows)))
    ok = np.isfinite(rows) & (bits != np.int64(-(2**63)))
    scaled = decimal_scale(rows.ravel(), ok.ravel()) if ok.all() else None
    if scaled is None:
        raw = np.ascontiguousarray(rows, "<f8").tobytes()
        return _frame(_KIND_DOUBLES, head + _squeeze(raw, squeeze))
    decimals, flat = scaled
    count, n = rows.shape
    segments = -(-n // SEGMENT)
    ints = np.empty((count, segments * SEGMENT), np.int64)
    ints[:, :n] = flat.reshape(rows.shape)
    ints[:, n:] = ints[:, n - 1 : n]
    bases = ints.reshape(count, segments, SEGMENT).min(axis=2)
    offsets = (ints - np.repeat(bases, SEGMENT, axis=1))[:, :n].astype(np.uint64)
    width = next(w for w in (1, 2, 4, 8) if int(offsets.max()) < 1 << (8 * w))
    layout = _SEGMENTS.pack(decimals, width, SEGMENT) + bases.astype("<i8").tobytes()
    raw = offsets.astype(_WIDTHS[width]).tobytes()
    return _frame(_KIND_SEGMENTS, head + layout + _squeeze(raw, squeeze))


def encode_block(cols: Sequence[np.ndarray], fast: bool = False,
                 squeeze: bool = False) -> bytes:
    """[bucket starts, min, max, sum, count, last, at_start] -> bytes; not fast: the
    compact codec blocks of earlier versions (kept for reading them in tests).

    Fast blocks decode in three operations and any hour of them is read without the
    others; ``squeeze`` compresses their frames (a day of minutes: 1.3x the compact
    codec's size where plain is 1.8x, a third of its decode time for an hour's read).
    Readers before ``squeeze`` decode such frames too. Compact blocks are the smallest
    on disk but decode every bucket of a row to read any."""
    named = dict(zip(COLUMNS, cols, strict=True))
    ts = np.asarray(named["timestamps"], np.int64)
    n = ts.size
    steps = np.diff(ts)
    if n == 1 or bool(np.all(steps == steps[0])):
        frames = [_frame(_KIND_GRID, _GRID.pack(int(ts[0]), int(steps[0]) if n > 1 else 0))]
    else:
        frames = [_frame(_KIND_CODEC, encode_floats([ts.astype(np.float64)]))]
    values = np.empty((len(ROWS), n), np.float64)
    for i, name in enumerate(ROWS):
        values[i] = named[name]
    # min, max and last share a scale and a width; count (one value all day where
    # scrapes are regular: a fill, nothing to decode, so a mean decodes sum alone), sum
    # (wider) and at_start (mostly no sample at all) each get their own
    groups = (((0, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 9), (9, 10), (10, 11)) if fast
              else [(i, i + 1) for i in range(len(ROWS))])
    frames += [_rows_frame(lo, values[lo:hi], fast, squeeze) for lo, hi in groups]
    return _HEAD.pack(n, _ROW_FRAMES | len(frames)) + b"".join(frames)


def split_block(data: bytes) -> tuple[bytes, bytes | None]:
    """A block's bytes as the store keeps them: (lead, rest), the lead the header, the
    timestamps and the frames of ``LEAD_ROWS`` (what ``DecodedBlock(lead, lead=True)``
    reads), the rest every other frame; (data, None) for a block whose count or sum
    shares a frame with other rows (older layouts): it stays whole."""
    _, legacy, frames = _frames(data)
    lead, rest = [frames[0]], []
    held = set()
    for frame in frames[1:] if not legacy else ():
        first, count = _span(data, frame)
        rows = set(range(first, first + count))
        if rows <= LEAD_ROWS:
            held |= rows
            lead.append(frame)
        else:
            rest.append(frame)
    if held != LEAD_ROWS:
        return data, None
    return (data[: _HEAD.size] + b"".join(data[f[1] - _FRAME.size : f[2]] for f in lead),
            b"".join(data[f[1] - _FRAME.size : f[2]] for f in rest))
