"""Many rollup blocks' buckets copied into one query's buffers, the per-bucket arithmetic
done once for all of them.

Why: a read over every series (what changed, a dashboard of thousands of series) touches
one block per series. Copying each block's hour out on its own is a dozen numpy calls
(stamps from the grid, offsets plus their segment's base, a divide), and their fixed cost,
not the buckets, was most of such a read. Here each block only names what it holds
(a grid, a view of its offsets and bases); the stamps and the offset rows of all blocks
are then computed in a few vectorised operations. Same add and divide as a block's own
copy (``Rows.copy_counted``), so the same bits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

import numpy as np

from watchkeeper.tsdb.codec_batch import ranges
from watchkeeper.tsdb.rollup_blocks import COLUMNS, ROWS, DecodedBlock


class BlockView(NamedTuple):
    """Buckets lo:hi of one decoded block: the part of it a query covers (with idx, only
    the buckets at those indexes, all within lo:hi)."""

    block: DecodedBlock
    lo: int
    hi: int
    idx: np.ndarray | None = None

    @property
    def size(self) -> int:
        return self.hi - self.lo if self.idx is None else self.idx.size


Part = tuple[Sequence[BlockView], "list[np.ndarray] | None"]  # stored views, on-the-fly tail


def gather(parts: Sequence[Part], wanted: Collection[int],
           ) -> tuple[list[int], np.ndarray, np.ndarray, list[int]]:
    """Every series' stored blocks and on-the-fly tail (every ``COLUMNS`` index wanted)
    end to end: (bounds, series k at bounds[k]:bounds[k + 1]; timestamps; the wanted
    value columns, a row each; their ``COLUMNS`` indexes in row order).

    Timestamps of all series are one allocation and the value columns one 2-D
    allocation: one large buffer costs far fewer page faults than hundreds of small
    ones, and the per-bucket arithmetic of all blocks is done at once (Gather)."""
    sizes = [
        sum(v.size for v in views) + (0 if tail is None else tail[0].size) for views, tail in parts
    ]
    bounds = np.r_[0, np.cumsum(sizes, dtype=np.int64)].tolist()
    rows = sorted(ROWS.index(COLUMNS[i]) for i in wanted if i)
    columns = [COLUMNS.index(ROWS[r]) for r in rows]
    stamps = np.empty(bounds[-1], np.int64)
    values = np.empty((len(rows), bounds[-1]), np.float64)
    copies = Gather(stamps, values, rows)
    for k, (views, tail) in enumerate(parts):
        pos, stop = bounds[k], bounds[k + 1]
        for view in views:
            copies.add(view.block, view.lo, view.hi, pos, view.idx)
            pos += view.size
        if tail is not None:
            stamps[pos:stop] = tail[0]
            for i, c in enumerate(columns):
                values[i, pos:stop] = tail[c]
    copies.finish()
    return bounds, stamps, values, columns


def assemble(parts: Sequence[Part], wanted: Collection[int]) -> list[list[np.ndarray | None]]:
    """Per series, one array per ``COLUMNS`` index (None where not wanted): slices of
    gather's buffers, so a series kept alive keeps the buffers alive."""
    bounds, stamps, values, columns = gather(parts, wanted)
    out: list[list[np.ndarray | None]] = []
    for k in range(len(parts)):
        a, b = bounds[k], bounds[k + 1]
        cols: list[np.ndarray | None] = [stamps[a:b]] + [None] * (len(COLUMNS) - 1)
        for i, c in enumerate(columns):
            cols[c] = values[i, a:b]
        out.append(cols)
    return out


class Gather:
    """Collects block copies into ``stamps`` and ``values`` (a row per wanted value row,
    sorted ``ROWS`` indexes in ``wanted``); ``finish`` writes what was deferred.

    What is deferred is kept column by column in flat lists of ints, not a tuple per
    block: 10,000 blocks' worth of tuples alive at once made the garbage collector walk
    the whole heap during the read."""

    def __init__(self, stamps: np.ndarray, values: np.ndarray, wanted: Sequence[int]) -> None:
        self.stamps, self.values, self.wanted = stamps, values, wanted
        self._grids: list[int] = []  # first, step, lo, size, pos: per block, end to end
        self._offsets: dict[tuple[int, int], _Deferred] = {}  # per run of out rows

    def add(self, block: DecodedBlock, lo: int, hi: int, pos: int,
            idx: np.ndarray | None = None) -> None:
        """Buckets lo:hi (or at idx) of ``block`` at ``pos`` of the buffers."""
        size = hi - lo if idx is None else idx.size
        if idx is None and block.grid is not None and size < _DEFER_BELOW:
            self._grids += (*block.grid, lo, size, pos)
        else:
            block.stamps_into(lo, hi, self.stamps[pos : pos + size], idx)
        for i0, i1, rows, part in block.runs(self.wanted):
            rows.count_read()
            found = None if idx is not None or size >= _DEFER_BELOW else rows.offsets(
                part, lo, hi)
            if found is None:
                rows.copy_counted(part, lo, hi, self.values[i0:i1, pos : pos + size], idx)
                continue
            deferred = self._offsets.get((i0, i1))
            if deferred is None:
                deferred = self._offsets[(i0, i1)] = _Deferred()
            deferred.add(*found, lo, size, pos, rows.segment, rows.divisor or 1.0)

    def finish(self) -> None:
        if self._grids:
            first, step, lo, size, pos = np.array(self._grids, np.int64).reshape(-1, 5).T
            at, j = _places(pos, size)
            self.stamps[at] = np.repeat(first, size) + (np.repeat(lo, size) + j) * np.repeat(
                step, size)
            self._grids = []
        for (i0, i1), deferred in self._offsets.items():
            at, values = deferred.values()
            self.values[i0:i1, at] = values
        self._offsets = {}


# Copies of this many buckets or more are made at once (stamps from the grid, offsets
# plus bases segment by segment in a broadcast add): their fixed cost is small beside
# their buckets, and the deferred path indexes a base and a block for every bucket,
# which made a year of hours three times slower to read
_DEFER_BELOW = 512


class _Deferred:
    """Offset rows of many blocks bound for one run of out rows."""

    __slots__ = ("bases", "divisors", "numbers", "offsets")

    def __init__(self) -> None:
        self.offsets: list[np.ndarray] = []
        self.bases: list[np.ndarray] = []
        self.numbers: list[int] = []  # lo, size, pos, segment, bases: per block
        self.divisors: list[float] = []

    def add(self, offsets: np.ndarray, bases: np.ndarray, lo: int, size: int, pos: int,
            segment: int, divisor: float) -> None:
        self.offsets.append(offsets)
        self.bases.append(bases)
        self.numbers += (lo, size, pos, segment, bases.shape[1])
        self.divisors.append(divisor)

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """(the buckets' places in the buffers, their values: offsets plus their segment's
        base, divided)."""
        lo, size, pos, segment, bases = np.array(self.numbers, np.int64).reshape(-1, 5).T
        at, j = _places(pos, size)
        # each bucket's base: its block's first base plus its segment within the block
        col = np.repeat(np.cumsum(bases) - bases, size) + (np.repeat(lo, size) + j) // np.repeat(
            segment, size)
        out = np.concatenate(self.offsets, axis=1) + np.concatenate(self.bases, axis=1)[:, col]
        out /= np.repeat(np.array(self.divisors, np.float64), size)
        return at, out


def _places(pos: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(buffer index of every bucket, its index within its block's copy) for copies of
    ``size`` buckets each starting at ``pos``."""
    at = ranges(pos, size)
    return at, at - np.repeat(pos, size)
