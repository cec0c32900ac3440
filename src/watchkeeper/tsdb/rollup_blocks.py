"""Byte layout of a rollup block, decoded straight into a query's buffers (``rollup_encode``
writes them).

Why: a year at 1 h is ~9,000 steps per series and a dashboard reads hundreds of series,
so decoding must cost a handful of numpy operations per block, not one per column.
A block is a timestamps frame plus value frames, each holding one or more value rows
(``ROWS`` order). Hourly blocks put min, max and last in one frame of fixed-width
offsets at a common decimal scale, from a base per 32 buckets (so a random-walk gauge
fits 2 bytes), decoded by one add and one divide into the destination; count has its
own (a single fill value where scrapes are regular; blocks written before share it with
min, max and last), so has sum (wider), and so has ``at_start``, a single fill value
when no sample sits on a bucket start. Hourly frames are stored plain: reading
twice the bytes from SQLite costs less than decompressing them. Finer blocks (a day of
minutes, ten days of five minutes) have the same frames compressed, so an hour's read
decompresses a frame and copies that hour out; blocks written before in the compact
per-row codec still decode, every bucket of a row at once. The third layout adds rows
for rate() and plain selectors (first, first_at, last_at, resets, stale), each its own
frame. Blocks of the first layout (six per-column frames, no ``at_start``) and of the
second (no third-layout rows) still decode, the rows they lack NaN.

Frames may come in any order after the timestamps. The store keeps a block as its lead
(the header, the timestamps and the frames of ``LEAD_ROWS``: count and sum, what a mean
needs) and the rest of its frames (``rollup_encode.split_block``): a read of means (what
``what_changed`` reads of every series) reads and decodes a block's lead alone, its
header counting frames the lead does not have.
"""

from __future__ import annotations

import struct
import zlib
from bisect import bisect_left
from collections.abc import Collection, Iterator, Sequence

import numpy as np

from watchkeeper.tsdb.codec import (
    decode_floats,
    zstd_decompressor,
)
from watchkeeper.tsdb.errors import CorruptChunkError
from watchkeeper.tsdb.rollup_rows import Rows

try:
    import zstandard as _zstd
except ImportError:  # pragma: no cover - only without the tsdb extra
    _zstd = None

COLUMNS = ("timestamps", "min", "max", "sum", "count", "last", "at_start",
           "first", "first_at", "last_at", "resets", "stale")
# value rows as stored; rows from "first" on are the third layout's (rate, selectors)
ROWS = ("min", "max", "last", "count", "sum", "at_start",
        "first", "first_at", "last_at", "resets", "stale")
_OLDER_ROWS = 6  # rows every layout has; blocks of older layouts read NaN for the others
# the rows a mean needs: stored apart from the other frames (a block's lead), so a read
# of means reads a seventh of a day of minutes
LEAD_ROWS = frozenset((ROWS.index("count"), ROWS.index("sum")))
_LEAD = sum(1 << r for r in LEAD_ROWS)

NO_SAMPLE_BITS = 0x7FF0000000000002  # the staleness marker: at_start where none sits there
_KIND_CODEC, _KIND_GRID, _KIND_OFFSETS, _KIND_DOUBLES, _KIND_FILL, _KIND_SEGMENTS = 0, 2, 3, 4, 5, 6
SEGMENT = 32  # buckets per base: a day and a third at 1 h, so offsets mostly fit 2 bytes
_HEAD = struct.Struct("<IB")  # buckets, frames (| _ROW_FRAMES for this layout)
_ROW_FRAMES = 0x80
_LEGACY_FRAMES = 6  # timestamps, min, max, sum, count, last: one frame each
_FRAME = struct.Struct("<BII")  # kind, length, crc32
_ROWS_OF = struct.Struct("<BB")  # first row, rows
_GRID = struct.Struct("<qq")
_SEGMENTS = struct.Struct("<BBH")  # decimals, byte width, segment; int64 bases follow
_LEGACY_OFFSETS = struct.Struct("<qBB")  # base, decimals, byte width
_WIDTHS = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}
_NO_SAMPLE = struct.pack("<q", NO_SAMPLE_BITS)
_NAN = struct.pack("<d", float("nan"))


def _unsqueeze(body: memoryview, size: int) -> bytes | memoryview:
    try:
        tag = bytes(body[:1])
        if tag == b"R":
            raw: bytes | memoryview = body[1:]
        elif tag == b"Z" and _zstd is not None:  # the first layout's hourly columns
            raw = zstd_decompressor().decompress(body[1:], max_output_size=size)  # type: ignore[attr-defined]
        elif tag == b"z":
            raw = zlib.decompress(body[1:])
        else:
            raise CorruptChunkError("unknown rollup frame compressor")
    except CorruptChunkError:
        raise
    except Exception as e:
        raise CorruptChunkError(f"rollup frame does not decompress: {e}") from None
    if len(raw) != size:
        raise CorruptChunkError("rollup frame length mismatch")
    return raw


# kind, where its body starts and ends in the block's bytes, crc32, the row of a first
# layout's frame (None: the frame names its rows). Plain ints, no views into the bytes:
# a cached block then holds a handful of objects the garbage collector walks, not dozens.
Frame = tuple[int, int, int, int, int | None]
# the bodies of the frames older layouts lack: such a frame's start and end are ~offsets here
_FILLS = _NAN + _NO_SAMPLE


def _check(data: bytes, frame: Frame) -> tuple[int, memoryview]:
    kind, start, end, crc, _ = frame
    body = memoryview(data)[start:end] if start >= 0 else memoryview(_FILLS)[~start : ~end]
    if zlib.crc32(body) != crc:
        raise CorruptChunkError("rollup frame checksum mismatch")
    return kind, body


def _fill_frame(value: bytes, row: int) -> Frame:
    """A frame of one value for every bucket, for a row an older layout lacks."""
    at = _FILLS.index(value)
    return (_KIND_FILL, ~at, ~(at + len(value)), zlib.crc32(value), row)


def _decode_rows(data: bytes, frame: Frame, n: int) -> Rows:
    kind, body = _check(data, frame)
    legacy_row = frame[4]
    if legacy_row is None:
        if len(body) < _ROWS_OF.size:
            raise CorruptChunkError("rollup frame ends early")
        first, count = _ROWS_OF.unpack_from(body)
        body = body[_ROWS_OF.size :]
    else:
        first, count = legacy_row, 1
    if count < 1 or first + count > len(ROWS):
        raise CorruptChunkError("rollup frame rows out of range")
    rows = Rows(first, count)
    if kind == _KIND_FILL and len(body) == 8:
        rows.fill = struct.unpack("<q", body)[0]
        return rows
    if kind in (_KIND_SEGMENTS, _KIND_OFFSETS):
        if kind == _KIND_SEGMENTS and len(body) > _SEGMENTS.size:
            decimals, width, rows.segment = _SEGMENTS.unpack_from(body)
            segments = -(-n // rows.segment) if rows.segment else 0
            head = _SEGMENTS.size + 8 * count * segments
            bases = np.frombuffer(body[_SEGMENTS.size : head], "<i8")
        elif legacy_row is not None and len(body) > _LEGACY_OFFSETS.size:  # one base
            head, segments = _LEGACY_OFFSETS.size, 1
            base, decimals, width = _LEGACY_OFFSETS.unpack_from(body)
            bases, rows.segment = np.array([base]), n
        else:
            raise CorruptChunkError("bad rollup frame layout")
        if width not in _WIDTHS or decimals > 9 or not segments or len(body) <= head:
            raise CorruptChunkError("bad rollup frame layout")
        raw = _unsqueeze(body[head:], width * count * n)
        rows.source = np.frombuffer(raw, _WIDTHS[width]).reshape(count, n)
        rows.bases = bases.astype(np.float64).reshape(count, segments)
        rows.divisor = 10.0**decimals if decimals else 0.0
        rows.nbytes = width * count * n
        if bytes(body[head : head + 1]) != b"R":
            rows.reads = 0
        return rows
    if kind == _KIND_DOUBLES:
        rows.source = np.frombuffer(_unsqueeze(body, 8 * count * n), "<f8").reshape(count, n)
    elif kind == _KIND_CODEC:
        cols = decode_floats(bytes(body))
        if len(cols) != count or any(c.size != n for c in cols):
            raise CorruptChunkError("rollup frame length mismatch")
        rows.source = np.stack(cols)
    else:
        raise CorruptChunkError(f"unknown rollup frame kind {kind}")
    rows.nbytes = 8 * count * n
    return rows


def _span(data: bytes, frame: Frame) -> tuple[int, int]:
    """(first row, rows) a frame claims to hold, read before (and checked by) decoding."""
    if frame[4] is not None:
        return frame[4], 1
    if frame[2] - frame[1] < _ROWS_OF.size:
        raise CorruptChunkError("rollup frame ends early")
    return _ROWS_OF.unpack_from(data, frame[1])  # type: ignore[return-value]


def _frames(data: bytes, lead: bool = False) -> tuple[int, bool, list[Frame]]:
    """Bucket count, whether the block has the first layout, and its raw frames (their
    rows not yet set for the first layout). ``lead``: data may end after any frame (a
    block's stored lead, see ``LEAD_ROWS``); fewer frames than its header counts."""
    if len(data) < _HEAD.size:
        raise CorruptChunkError("rollup block shorter than its header")
    n, layout = _HEAD.unpack_from(data)
    legacy = layout == _LEGACY_FRAMES
    count = layout & ~_ROW_FRAMES
    if not n or not (legacy or (layout & _ROW_FRAMES and 2 <= count <= 1 + len(ROWS))):
        raise CorruptChunkError("rollup block header mismatch")
    frames: list[Frame] = []
    pos = _HEAD.size
    for _ in range(count):
        if lead and pos == len(data) and frames and not legacy:
            break
        if pos + _FRAME.size > len(data):
            raise CorruptChunkError("rollup block ends early")
        kind, length, crc = _FRAME.unpack_from(data, pos)
        pos += _FRAME.size + length
        if pos > len(data):
            raise CorruptChunkError("rollup block ends early")
        frames.append((kind, pos - length, pos, crc, None))
    if pos != len(data):
        raise CorruptChunkError("trailing bytes after rollup block")
    return n, legacy, frames


def in_lead(rows: Collection[int]) -> bool:
    """Whether a block's lead alone holds these rows (``ROWS`` indexes)."""
    return all(r in LEAD_ROWS for r in rows)


class DecodedBlock:
    """One stored block; frames decompress on first use and stay decoded (read-only)."""

    __slots__ = ("complete", "data", "frames", "grid", "n", "nbytes", "rows", "spans",
                 "stamps")

    def __init__(self, data: bytes, lead: bool = False) -> None:
        """``lead``: data may be a block's lead alone (``LEAD_ROWS``); the block is then
        not ``complete`` and holds only those rows (``has_rows``)."""
        self.data = data
        self.n, legacy, frames = _frames(data, lead)
        kind, body = _check(data, frames[0])
        self.grid: tuple[int, int] | None = None
        self.stamps = np.empty(0, np.int64)
        if kind == _KIND_GRID and len(body) == _GRID.size:
            self.grid = _GRID.unpack(body)
        elif kind == _KIND_CODEC:
            (full,) = decode_floats(bytes(body))
            if full.size != self.n:
                raise CorruptChunkError("rollup timestamps length mismatch")
            self.stamps = full.astype(np.int64)
            self.stamps.flags.writeable = False
        else:
            raise CorruptChunkError(f"bad rollup timestamps frame kind {kind}")
        # value frames by the rows they hold; the first layout has one per column
        if legacy:
            held_frames = [(*frame[:4], ROWS.index(name))
                           for name, frame in zip(COLUMNS[1:6], frames[1:], strict=True)]
            held_frames.append(_fill_frame(_NO_SAMPLE, ROWS.index("at_start")))
        else:
            held_frames = frames[1:]
        spans = [_span(data, frame) for frame in held_frames]
        covered = 0  # a bit per row: every row held by exactly one frame, from row 0 on
        for first, count in spans:
            rows = ((1 << count) - 1) << first
            if count < 1 or covered & rows:
                raise CorruptChunkError("rollup block frames do not cover every row once")
            covered |= rows
        self.complete = (not lead or legacy
                         or len(frames) == _HEAD.unpack_from(data)[1] & ~_ROW_FRAMES)
        if self.complete:
            held = covered.bit_length()
            if covered != (1 << held) - 1 or held < _OLDER_ROWS:
                raise CorruptChunkError("rollup block frames do not cover every row once")
            for row in range(held, len(ROWS)):  # an older layout's block
                held_frames.append(_fill_frame(_NAN, row))
                spans.append((row, 1))
        elif (covered & _LEAD) != _LEAD:  # rows past the lead are in the rest
            raise CorruptChunkError("rollup block lead lacks its rows")
        # tuples of ints: the garbage collector stops walking them once it has seen them
        self.frames, self.spans = tuple(held_frames), tuple(spans)
        self.rows: list[Rows | None] = [None] * len(self.frames)
        # what this block may grow to once every frame is decoded (the cache's size of
        # it): a frame of one value for all buckets (a count of 60, no resets, never
        # stale) stays one value. Why not 8 bytes for every row: the cache would hold
        # half the blocks it can, and a dashboard reading a month of minutes in a cycle
        # would miss on every block.
        rows = sum(count for frame, (_, count) in zip(self.frames, self.spans, strict=True)
                   if frame[0] != _KIND_FILL)
        self.nbytes = self.stamps.nbytes + 8 * self.n * rows

    def bounds(self, start: int, end: int) -> tuple[int, int]:
        """Indexes [lo, hi) of buckets starting within [start, end]."""
        if self.grid is None:
            lo = int(np.searchsorted(self.stamps, start, "left"))
            return lo, int(np.searchsorted(self.stamps, end, "right"))
        first, step = self.grid
        if step <= 0:
            return (0, 1) if start <= first <= end else (0, 0)
        lo = min(max(-((first - start) // step), 0), self.n)
        hi = min(max((end - first) // step + 1, 0), self.n)
        return lo, max(lo, hi)

    def stamps_into(self, lo: int, hi: int, out: np.ndarray,
                    idx: np.ndarray | None = None) -> None:
        if idx is not None:
            out[:] = self.stamps[idx] if self.grid is None else self.grid[0] + idx * self.grid[1]
        elif self.grid is None:
            out[:] = self.stamps[lo:hi]
        else:
            np.multiply(np.arange(lo, hi, dtype=np.int64), self.grid[1], out=out)
            out += self.grid[0]

    def _rows(self, k: int) -> Rows:
        rows = self.rows[k]
        if rows is None:
            rows = self.rows[k] = _decode_rows(self.data, self.frames[k], self.n)
            if (rows.first, rows.count) != self.spans[k]:
                raise CorruptChunkError("rollup frame rows changed")
            if rows.source.flags.writeable:
                rows.source.flags.writeable = False
        return rows

    def has_rows(self, wanted: Collection[int]) -> bool:
        """Whether the block holds every wanted row (``ROWS`` indexes): a complete block
        does, a lead only its own."""
        return self.complete or in_lead(wanted)

    def values_into(self, lo: int, hi: int, wanted: Sequence[int], out: np.ndarray,
                    idx: np.ndarray | None = None) -> None:
        """Buckets lo:hi (or at idx) of the wanted value rows (sorted ``ROWS`` indexes)
        into out's rows."""
        for i0, i1, rows, part in self.runs(wanted):
            rows.copy_into(part, lo, hi, out[i0:i1], idx)

    def runs(self, wanted: Sequence[int]) -> Iterator[tuple[int, int, Rows, slice]]:
        """(out rows i0:i1, the frame's decoded rows, their slice there) per run of wanted
        rows (sorted ``ROWS`` indexes) that are neighbours both in a frame and in wanted:
        each run is copied in one operation. Frames nothing is wanted from stay undecoded."""
        if not self.has_rows(wanted):
            raise ValueError("rows beyond a rollup block's lead were read from its lead alone")
        for k, (first, count) in enumerate(self.spans):
            i0, i1 = bisect_left(wanted, first), bisect_left(wanted, first + count)
            if i0 == i1:
                continue
            rows = self._rows(k)
            if wanted[i1 - 1] - wanted[i0] == i1 - 1 - i0:
                yield i0, i1, rows, slice(wanted[i0] - first, wanted[i1 - 1] - first + 1)
                continue
            for i in range(i0, i1):
                yield i, i + 1, rows, slice(wanted[i] - first, wanted[i] - first + 1)


def decode_block(data: bytes, wanted: Collection[int]) -> list[np.ndarray | None]:
    """Decode the wanted ``COLUMNS`` indexes (0 is always decoded); others are None."""
    block = DecodedBlock(data)
    stamps = np.empty(block.n, np.int64)
    block.stamps_into(0, block.n, stamps)
    out: list[np.ndarray | None] = [stamps] + [None] * (len(COLUMNS) - 1)
    rows = sorted(ROWS.index(COLUMNS[i]) for i in wanted if i)
    values = np.empty((len(rows), block.n), np.float64)
    block.values_into(0, block.n, rows, values)
    for i, r in enumerate(rows):
        out[COLUMNS.index(ROWS[r])] = values[i]
    return out
