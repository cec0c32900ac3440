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
    packed = b"Z" + _ZC.compress(raw) if _ZC is not None else b"z" + zlib.compress(raw, 6)
    # barely compressible (sums of arbitrary floats): store plain, skip decompression
    return packed if len(packed) < 0.85 * len(raw) else b"R" + raw


def _unsqueeze(body: bytes, size: int) -> bytes:
    try:
        if body[:1] == b"R":
            raw = body[1:]
        elif body[:1] == b"Z" and _ZD is not None:
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


def _frames(data: bytes) -> tuple[int, list[tuple[int, bytes, int]]]:
    """Block header and its column frames (kind, body, crc), unchecked."""
    if len(data) < _HEAD.size:
        raise CorruptChunkError("rollup block shorter than its header")
    n, ncols = _HEAD.unpack_from(data)
    if ncols != len(COLUMNS) or not n:
        raise CorruptChunkError("rollup block header mismatch")
    frames = []
    pos = _HEAD.size
    for _ in range(ncols):
        if pos + _FRAME.size > len(data):
            raise CorruptChunkError("rollup block ends early")
        kind, length, crc = _FRAME.unpack_from(data, pos)
        body = data[pos + _FRAME.size : pos + _FRAME.size + length]
        if len(body) != length:
            raise CorruptChunkError("rollup block ends early")
        frames.append((kind, body, crc))
        pos += _FRAME.size + length
    return n, frames


def _decode_column(
    index: int, frame: tuple[int, bytes, int], n: int, lo: int, hi: int, dst: np.ndarray | None
) -> np.ndarray:
    """Rows lo:hi of one column, written into dst when given (saves a copy)."""
    kind, body, crc = frame
    if zlib.crc32(body) != crc:
        raise CorruptChunkError("rollup column checksum mismatch")
    if kind == _KIND_GRID:
        first, step = _GRID.unpack(body)
        col = first + np.arange(lo, hi, dtype=np.int64) * step
    elif kind == _KIND_OFFSETS and len(body) > _OFFSETS.size:
        base, decimals, width = _OFFSETS.unpack_from(body)
        if width not in _WIDTHS or decimals > 9:
            raise CorruptChunkError("bad rollup column layout")
        ints = np.frombuffer(_unsqueeze(body[_OFFSETS.size :], width * n), _WIDTHS[width])[lo:hi]
        out = np.empty(hi - lo, np.float64) if dst is None else dst
        np.add(ints, float(base), out=out, casting="unsafe")
        if decimals:
            out /= 10.0**decimals
        return out
    elif kind == _KIND_DOUBLES:
        col = np.frombuffer(_unsqueeze(body, 8 * n), "<f8")[lo:hi]
    elif kind == _KIND_CODEC:
        (full,) = decode_floats(body)
        if full.size != n:
            raise CorruptChunkError("rollup column length mismatch")
        col = (full.astype(np.int64) if index == 0 else full)[lo:hi]
    else:
        raise CorruptChunkError(f"unknown rollup column kind {kind}")
    if dst is None:
        return col.copy() if not col.flags.writeable else col
    dst[:] = col
    return dst


def decode_block(data: bytes, wanted: Collection[int]) -> list[np.ndarray | None]:
    """Decode the wanted column indexes (0 is always decoded); others are None."""
    n, frames = _frames(data)
    return [
        _decode_column(i, frame, n, 0, n, None) if i == 0 or i in wanted else None
        for i, frame in enumerate(frames)
    ]


class DecodedBlock:
    """One stored block: bucket starts decoded at once, other columns on first use.

    Decoded columns are read-only: a cache shares them between queries."""

    __slots__ = ("columns", "frames", "n")

    def __init__(self, data: bytes) -> None:
        self.n, self.frames = _frames(data)
        self.columns: dict[int, np.ndarray] = {}
        self.column(0)

    @property
    def nbytes(self) -> int:
        """What this block may grow to once every column is decoded."""
        return 8 * self.n * len(COLUMNS)

    def column(self, index: int) -> np.ndarray:
        col = self.columns.get(index)
        if col is None:
            col = _decode_column(index, self.frames[index], self.n, 0, self.n, None)
            col.flags.writeable = False
            self.columns[index] = col
        return col


class BlockView:
    """A decoded block clipped to a time range."""

    __slots__ = ("block", "hi", "lo")

    def __init__(self, block: DecodedBlock, start: int, end: int) -> None:
        self.block = block
        stamps = block.column(0)
        self.lo = int(np.searchsorted(stamps, start, "left"))
        self.hi = int(np.searchsorted(stamps, end, "right"))

    @property
    def size(self) -> int:
        return self.hi - self.lo

    def decode_into(self, index: int, dst: np.ndarray) -> None:
        dst[:] = self.block.column(index)[self.lo : self.hi]
