"""Byte layout of a rollup block: independently compressed columns, read selectively.

Why: a year at 1 h is ~9,000 steps per series and range queries read many series, so
a query decodes only the columns it asks for. Aggregates of decimal gauges stay
decimal (min, max, last; count is an integer), so the value codec keeps them at ~1.7
bytes; bucket starts are almost always a regular grid and then cost two integers.
Hourly blocks, read a year at a time, trade bytes for speed: decimal columns as
fixed-width offsets from a base (decoded by one cast, one add, one divide), others as
raw doubles (decoded by decompression alone).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection

import numpy as np

from watchkeeper.tsdb.codec import decimal_scale, decode_floats, encode_floats
from watchkeeper.tsdb.errors import CorruptChunkError

try:
    import zstandard as _zstd
except ImportError:  # pragma: no cover - only without the tsdb extra
    _zstd = None

COLUMNS = ("timestamps", "min", "max", "sum", "count", "last")
_KIND_CODEC, _KIND_GRID, _KIND_OFFSETS, _KIND_DOUBLES = 0, 2, 3, 4
_OFFSETS = struct.Struct("<qBB")  # base, decimals, byte width
_WIDTHS = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}
_ZC = _zstd.ZstdCompressor(level=3) if _zstd else None
_ZD = _zstd.ZstdDecompressor() if _zstd else None


def _squeeze(raw: bytes) -> bytes:
    return b"Z" + _ZC.compress(raw) if _ZC is not None else b"z" + zlib.compress(raw, 6)


def _unsqueeze(body: bytes, size: int) -> bytes:
    try:
        if body[:1] == b"Z" and _ZD is not None:
            raw = _ZD.decompress(body[1:], max_output_size=size)
        elif body[:1] == b"z":
            raw = zlib.decompress(body[1:])
        else:
            raise CorruptChunkError("unknown rollup column compressor")
    except CorruptChunkError:
        raise
    except Exception as e:
        raise CorruptChunkError(f"rollup column does not decompress: {e}") from None
    if len(raw) != size:
        raise CorruptChunkError("rollup column length mismatch")
    return raw


def _fast_frame(col: np.ndarray) -> bytes:
    ok = np.isfinite(col) & (col.view(np.int64) != np.int64(-(2**63)))
    scaled = decimal_scale(col, ok) if ok.all() else None
    if scaled is not None:
        decimals, ints = scaled
        base = int(ints.min())
        offsets = (ints - base).astype(np.uint64)
        width = next(w for w in (1, 2, 4, 8) if int(offsets.max()) < 1 << (8 * w))
        raw = offsets.astype(_WIDTHS[width]).tobytes()
        return _frame(_KIND_OFFSETS, _OFFSETS.pack(base, decimals, width) + _squeeze(raw))
    return _frame(_KIND_DOUBLES, _squeeze(np.ascontiguousarray(col, "<f8").tobytes()))


_HEAD = struct.Struct("<IB")  # buckets, columns
_FRAME = struct.Struct("<BII")  # kind, length, crc32
_GRID = struct.Struct("<qq")


def _frame(kind: int, body: bytes) -> bytes:
    return _FRAME.pack(kind, len(body), zlib.crc32(body)) + body


def encode_block(cols: list[np.ndarray], fast: bool = False) -> bytes:
    """[bucket starts (int64), min, max, sum, count, last] -> bytes; fast for hourly."""
    n = cols[0].size
    frames = []
    ts = cols[0].astype(np.int64)
    steps = np.diff(ts)
    if n == 1 or bool(np.all(steps == steps[0])):
        frames.append(_frame(_KIND_GRID, _GRID.pack(int(ts[0]), int(steps[0]) if n > 1 else 0)))
    else:
        frames.append(_frame(_KIND_CODEC, encode_floats([ts.astype(np.float64)])))
    for col in cols[1:]:
        col = np.ascontiguousarray(col, dtype=np.float64)
        frames.append(_fast_frame(col) if fast else _frame(_KIND_CODEC, encode_floats([col])))
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
        elif kind == _KIND_OFFSETS and len(body) > _OFFSETS.size:
            base, decimals, width = _OFFSETS.unpack_from(body)
            if width not in _WIDTHS or decimals > 9:
                raise CorruptChunkError("bad rollup column layout")
            raw = _unsqueeze(body[_OFFSETS.size :], width * n)
            col = np.frombuffer(raw, _WIDTHS[width]).astype(np.float64)
            col += base
            if decimals:
                col /= 10.0**decimals
            out.append(col)
        elif kind == _KIND_DOUBLES:
            out.append(np.frombuffer(_unsqueeze(body, 8 * n), "<f8"))
        elif kind == _KIND_CODEC:
            (col,) = decode_floats(body)
            if col.size != n:
                raise CorruptChunkError("rollup column length mismatch")
            out.append(col.astype(np.int64) if index == 0 else col)
        else:
            raise CorruptChunkError(f"unknown rollup column kind {kind}")
    return out
