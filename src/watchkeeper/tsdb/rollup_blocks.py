"""Byte layout of a rollup block: independently compressed columns, read selectively.

Why: a year at 1 h is ~9,000 steps per series and range queries read many series, so
a query decodes only the columns it asks for. Aggregates of decimal gauges stay
decimal (min, max, last; count is an integer), so the value codec keeps them at ~1.7
bytes; bucket starts are almost always a regular grid and then cost two integers.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection

import numpy as np

from watchkeeper.tsdb.codec import decode_floats, encode_floats
from watchkeeper.tsdb.errors import CorruptChunkError

COLUMNS = ("timestamps", "min", "max", "sum", "count", "last")
_KIND_CODEC, _KIND_GRID = 0, 2
_HEAD = struct.Struct("<IB")  # buckets, columns
_FRAME = struct.Struct("<BII")  # kind, length, crc32
_GRID = struct.Struct("<qq")


def _frame(kind: int, body: bytes) -> bytes:
    return _FRAME.pack(kind, len(body), zlib.crc32(body)) + body


def encode_block(cols: list[np.ndarray]) -> bytes:
    """[bucket starts (int64), min, max, sum, count, last] -> bytes."""
    n = cols[0].size
    frames = []
    ts = cols[0].astype(np.int64)
    steps = np.diff(ts)
    if n == 1 or bool(np.all(steps == steps[0])):
        frames.append(_frame(_KIND_GRID, _GRID.pack(int(ts[0]), int(steps[0]) if n > 1 else 0)))
    else:
        frames.append(_frame(_KIND_CODEC, encode_floats([ts.astype(np.float64)])))
    for col in cols[1:]:
        frames.append(_frame(_KIND_CODEC, encode_floats([col])))
    return _HEAD.pack(n, len(frames)) + b"".join(frames)


def decode_block(data: bytes, wanted: Collection[int]) -> list[np.ndarray | None]:
    """Decode the wanted column indexes (0 is always decoded); others are None."""
    if len(data) < _HEAD.size:
        raise CorruptChunkError("rollup block shorter than its header")
    n, ncols = _HEAD.unpack_from(data)
    if ncols != len(COLUMNS) or not n:
        raise CorruptChunkError("rollup block header mismatch")
    out: list[np.ndarray | None] = []
    pos = _HEAD.size
    for index in range(ncols):
        if pos + _FRAME.size > len(data):
            raise CorruptChunkError("rollup block ends early")
        kind, length, crc = _FRAME.unpack_from(data, pos)
        body = data[pos + _FRAME.size : pos + _FRAME.size + length]
        pos += _FRAME.size + length
        if index and index not in wanted:
            out.append(None)
            continue
        if len(body) != length or zlib.crc32(body) != crc:
            raise CorruptChunkError("rollup column checksum mismatch")
        if kind == _KIND_GRID:
            first, step = _GRID.unpack(body)
            out.append(first + np.arange(n, dtype=np.int64) * step)
        elif kind == _KIND_CODEC:
            (col,) = decode_floats(body)
            if col.size != n:
                raise CorruptChunkError("rollup column length mismatch")
            out.append(col.astype(np.int64) if index == 0 else col)
        else:
            raise CorruptChunkError(f"unknown rollup column kind {kind}")
    return out
