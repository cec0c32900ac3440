"""A checkpoint in three steps, so the store's lock is held only for the short ones.

Why: encoding the head of 50,000 series into chunks takes seconds of CPU. Under the lock,
appends and queries would wait that long, and a server's event loop, starved of the GIL
by the encoder, would start its scrapes late. So: ``take`` copies the head under the lock
(milliseconds), ``encode`` runs without it, and ``release`` (under the lock again) drops
exactly the copied samples once their chunks are committed. Until then the head still
holds them, so a reader never misses a sample nor sees one twice.
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field

import numpy as np

from watchkeeper.tsdb.chunks import ChunkRow
from watchkeeper.tsdb.compaction import cut_chunks
from watchkeeper.tsdb.head import Head, Series, pairs_to_arrays

# the encoder steps aside this often (a sleep, so a waiting thread surely gets the GIL):
# an event loop between two socket calls then waits about this long for the GIL, not a
# whole switch interval (5 ms) per call
_YIELD_EVERY_S = 0.002
_YIELD_FOR_S = 0.0001


@dataclass
class HeadSnapshot:
    """The head as it was when the checkpoint began."""

    wal_segment: int  # the WAL segments up to here hold only these samples
    epoch: int  # the head's deletion count then: a deletion since voids the snapshot
    taken: list[tuple[Series, array, bool]] = field(default_factory=list)
    new_series: list[Series] = field(default_factory=list)
    samples: int = 0


def take(head: Head, wal_segment: int, epoch: int) -> HeadSnapshot:
    """Copy what the head holds (call under the store's lock)."""
    snap = HeadSnapshot(wal_segment, epoch, new_series=list(head.unsaved.values()))
    for s in head.by_id.values():
        if s.samples:
            snap.taken.append((s, s.samples[:], s.sorted))
    snap.samples = sum(len(copy) for _, copy, _ in snap.taken) // 2
    return snap


def encode(snap: HeadSnapshot) -> tuple[list[tuple[int, str]], list[ChunkRow]]:
    """The snapshot's new series and chunks (needs no lock)."""
    rows: list[ChunkRow] = []
    pause = time.perf_counter() + _YIELD_EVERY_S
    for s, copy, in_order in snap.taken:
        pairs = np.frombuffer(copy, dtype=np.float64).reshape(-1, 2)
        ts, vals = pairs_to_arrays(pairs, in_order)
        rows.extend(cut_chunks(s.id, ts, vals))
        if time.perf_counter() >= pause:
            time.sleep(_YIELD_FOR_S)
            pause = time.perf_counter() + _YIELD_EVERY_S
    return [(s.id, s.labels.to_json()) for s in snap.new_series], rows


def release(head: Head, snap: HeadSnapshot) -> None:
    """Drop the persisted samples from the head (call under the store's lock)."""
    for s, copy, _ in snap.taken:
        s.drop_oldest(len(copy) // 2)
    for s in snap.new_series:
        head.unsaved.pop(s.id, None)
    head.samples -= snap.samples
