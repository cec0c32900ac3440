"""A rollup frame's value rows once decoded: copied out into a query's buffers any number of
times (``rollup_blocks`` decodes them, ``rollup_gather`` copies many at once).

Why apart: the layout of a block and the copying out of its rows are two jobs; a frame
of offsets stays offsets until a second read makes it floats, so a block read once
copies out only the buckets a query needs.
"""

from __future__ import annotations

import numpy as np


class Rows:
    """A frame's value rows, decoded once and then copied out any number of times."""

    __slots__ = ("bases", "count", "divisor", "fill", "first", "floats", "nbytes", "reads",
                 "segment", "source")

    def __init__(self, first: int, count: int) -> None:
        self.first, self.count = first, count
        self.source = np.empty((count, 0))
        self.fill: int | None = None  # every value has these bits
        self.bases: np.ndarray | None = None  # source holds offsets from a base per segment
        self.segment = 0
        self.divisor = 0.0
        self.nbytes = 0
        self.reads = -1  # of a compressed frame: floats from its second read on (below)
        self.floats: np.ndarray | None = None

    def copy_into(self, rows: slice, lo: int, hi: int, out: np.ndarray,
                  idx: np.ndarray | None = None) -> None:
        """Buckets lo:hi (or those at idx, within it) of the rows into out."""
        self.count_read()
        self.copy_counted(rows, lo, hi, out, idx)

    def count_read(self) -> None:
        """Counts a read of a compressed frame: its second makes it floats (_to_floats)."""
        if self.reads >= 0:
            self.reads += 1
            if self.reads == 2:
                self._to_floats()

    def offsets(self, rows: slice, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(offsets of buckets lo:hi, the rows' bases per segment) when copying them out is
        an add of their segment's base and a divide, which a gather over many blocks does
        once for all (rollup_gather); None when a copy_counted does it. After count_read."""
        if self.floats is not None or self.fill is not None or self.bases is None:
            return None
        return self.source[rows, lo:hi], self.bases[rows]

    def copy_counted(self, rows: slice, lo: int, hi: int, out: np.ndarray,
                     idx: np.ndarray | None = None) -> None:
        """copy_into without counting the read (the caller did)."""
        floats = self.floats  # one read of it: another thread may set it meanwhile
        if floats is not None:
            out[...] = floats[rows][:, idx] if idx is not None else floats[rows, lo:hi]
        elif self.fill is not None:
            out.view(np.int64)[...] = self.fill
        elif idx is not None and self.bases is not None:
            np.add(self.source[rows][:, idx], self.bases[rows][:, idx // self.segment], out=out)
            if self.divisor:
                out /= self.divisor
        elif idx is not None:
            out[...] = self.source[rows][:, idx]
        elif self.bases is not None:
            self._add_bases(self.source[rows], self.bases[rows], lo, hi, out)
            if self.divisor:
                out /= self.divisor
        else:
            out[...] = self.source[rows, lo:hi]

    def _to_floats(self) -> None:
        """A compressed frame read again (its block is cached): offsets made floats once, so
        later reads are plain copies. The first read stays lazy: a block read once (a
        query over more series than the cache holds) copies out only the buckets it needs.
        Same add and divide, so the same bits."""
        full = np.empty(self.source.shape, np.float64)
        self.copy_counted(slice(0, self.count), 0, self.source.shape[1], full)
        full.flags.writeable = False
        self.floats = full  # a single assignment: readers see the offsets or these

    def _add_bases(self, src: np.ndarray, bases: np.ndarray, lo: int, hi: int, out) -> None:  # type: ignore[no-untyped-def]
        """out = offsets + their segment's base: whole segments in one broadcast add,
        the partial segments at either end on their own."""
        size = self.segment
        a = min(-(-lo // size) * size, hi)  # first segment boundary within [lo, hi]
        b = max(a, hi // size * size)  # last one
        if a > lo:
            np.add(src[:, lo:a], bases[:, lo // size, None], out=out[:, : a - lo])
        if b > a:
            shape = (src.shape[0], (b - a) // size, size)
            whole = out[:, a - lo : b - lo].view()
            whole.shape = shape  # a view, never a copy (raises if it cannot be one)
            np.add(src[:, a:b].reshape(shape), bases[:, a // size : b // size, None], out=whole)
        if hi > b:
            np.add(src[:, b:hi], bases[:, b // size, None], out=out[:, b - lo :])
