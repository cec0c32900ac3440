"""The durable queue of one remote-write endpoint: a segment log of the store's own WAL
records, and the acknowledged position.

Why a log of its own rather than reading the store's WAL: the store deletes WAL segments at
every checkpoint, while a sink may stay down far longer. The store hands every committed
record batch to ``QueueLog.tap`` (under its lock, so the order is the store's order); each
segment starts by describing every series its samples use, so a segment reads on its own.
The reader resumes from ``position.json`` (segment, byte offset, samples of that record
already sent), written after every acknowledged batch: a ``kill -9`` loses nothing, and
memory holds one batch at most while the backlog waits on disk.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.wal import (
    REC_SERIES,
    WAL,
    decode,
    encode_series,
    list_segments,
    segment_name,
)

log = logging.getLogger("watchkeeper.remote")

FRAME = struct.Struct("<IIB")  # the WAL's frame: payload length, crc32, record type
# Each segment describes again every series it uses: big segments keep that a small share
# of what is written (100,000 series take about 10 MB of descriptions per segment).
SEGMENT_BYTES = 64 << 20
_SID = struct.Struct("<I")  # a series record starts with its id
READ_BYTES = 1 << 20
POSITION_FILE = "position.json"
POSITION_BYTES = 128  # the record, padded with spaces (JSON ignores them)


@dataclass(frozen=True)
class Position:
    segment: int
    offset: int = 0
    skip: int = 0  # samples of the record at ``offset`` already acknowledged


@dataclass
class Batch:
    """Samples read from the log (int64 ids and timestamps, float64 values), and where the
    log stands once they are acknowledged."""

    ids: np.ndarray
    ts: np.ndarray
    vals: np.ndarray
    end: Position

    def __len__(self) -> int:
        return int(self.ids.size)

    @classmethod
    def of(cls, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], end: Position
           ) -> Batch:
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return cls(empty, empty, np.empty(0, dtype=np.float64), end)
        return cls(np.concatenate([p[0] for p in parts]).astype(np.int64, copy=False),
                   np.concatenate([p[1] for p in parts]).astype(np.int64, copy=False),
                   np.concatenate([p[2] for p in parts]).astype(np.float64, copy=False), end)


class QueueLog:
    """Writer side (the store's tap) and reader side (the sender) of one endpoint's log."""

    def __init__(self, directory: Path, labels_of: Callable[[int], Labels | None],
                 segment_bytes: int = SEGMENT_BYTES) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.labels_of = labels_of
        self.segment_bytes = segment_bytes
        existing = list_segments(self.dir)
        self.wal = WAL(self.dir, (existing[-1] + 1) if existing else 1)
        self._described: set[int] = set()
        # the series records of the series this segment and the one before described, so
        # describing a series again is a copy (a store that reuses an id describes it anew)
        self._series_records: dict[int, bytes] = {}
        self.written_samples = 0
        self.highest_ts = 0
        self.errors = 0
        self._lock = threading.Lock()
        self.labels: dict[int, Labels] = {}  # the reader's series, from the log's own records
        self._label_segment: dict[int, int] = {}  # the segment that last described each
        self._label_records: dict[int, bytes] = {}  # the record ``labels`` was decoded from
        self._changed: set[int] = set()  # ids read again with other labels, for the senders
        self._synced = 0.0
        self._position_fd = -1
        self.position = self._load_position(existing)

    # -------------------------------------------------------------------------- writer
    def tap(self, records: list[tuple[int, bytes]]) -> None:
        """Append the store's committed records; never raises into the store."""
        try:
            out: list[tuple[int, bytes]] = []
            for kind, payload in records:
                if kind == REC_SERIES:
                    sid = _SID.unpack_from(payload)[0]
                    self._described.add(sid)
                    self._series_records[sid] = payload
                    out.append((kind, payload))
                    continue
                rec = decode(kind, payload)
                if rec[0] == "samples":
                    ids, ts = rec[1], rec[2]
                    listed = ids.tolist()
                    if not self._described.issuperset(listed):  # (one C loop when all are)
                        for sid in set(listed) - self._described:
                            self._describe(sid, out)
                elif rec[0] == "batch":
                    ts = rec[2]
                    if rec[1] not in self._described:
                        self._describe(rec[1], out)
                else:
                    continue  # deletions stay local
                if ts.size:
                    self.written_samples += int(ts.size)
                    self.highest_ts = max(self.highest_ts, int(ts.max()))
                out.append((kind, payload))
            if out:
                with self._lock:
                    self.wal.write(out)
                    if self.wal.bytes_written >= self.segment_bytes:
                        self.wal.rotate()
                        kept = self._series_records
                        self._series_records = {sid: kept[sid] for sid in self._described
                                                if sid in kept}
                        self._described = set()
        except Exception:
            self.errors += 1
            log.exception("remote write: cannot append to the queue in %s", self.dir)

    def _describe(self, sid: int, out: list[tuple[int, bytes]]) -> None:
        payload = self._series_records.get(sid)
        if payload is None:
            labels = self.labels_of(sid)
            if labels is None:
                return
            payload = self._series_records[sid] = encode_series(sid, labels)[1]
        out.append((REC_SERIES, payload))
        self._described.add(sid)

    def close(self) -> None:
        with self._lock:
            self.wal.close()
        if self._position_fd >= 0:
            os.fsync(self._position_fd)
            os.close(self._position_fd)
            self._position_fd = -1

    # -------------------------------------------------------------------------- reader
    def _load_position(self, existing: list[int]) -> Position:
        first = existing[0] if existing else self.wal.segment
        try:
            raw = json.loads((self.dir / POSITION_FILE).read_text())
            pos = Position(int(raw["segment"]), int(raw["offset"]), int(raw.get("skip", 0)))
        except (OSError, ValueError, KeyError, TypeError):
            return Position(first)
        if pos.segment < first:  # its segment is gone (already fully sent)
            return Position(first)
        if pos.offset:
            self._scan_series(pos.segment, pos.offset)
        return pos

    def acknowledge(self, pos: Position) -> None:
        """Persist ``pos`` and delete the segments wholly before it.

        One small in-place write per batch (a process killed at any point leaves either
        the old or the new record: the kernel has it), synced to disk at most once a
        second: after a power cut the position may be a second old, which resends, never
        loses."""
        record = json.dumps({"segment": pos.segment, "offset": pos.offset,
                             "skip": pos.skip}).encode().ljust(POSITION_BYTES)
        if self._position_fd < 0:
            self._position_fd = os.open(self.dir / POSITION_FILE, os.O_RDWR | os.O_CREAT,
                                        0o644)
        os.pwrite(self._position_fd, record, 0)
        now = time.monotonic()
        if now - self._synced >= 1.0:
            os.fsync(self._position_fd)
            self._synced = now
        if pos.segment != self.position.segment:
            for seg in list_segments(self.dir):
                if seg < pos.segment:
                    (self.dir / segment_name(seg)).unlink(missing_ok=True)
            self._forget_before(pos.segment - 1)
        self.position = pos

    def _forget_before(self, segment: int) -> None:
        """Drop the series that only segments before ``segment`` described: every segment
        describes the series its samples use, so what is left to read never needs them
        (and series that stopped, or that an agent store forgot, leave memory).

        The caller keeps the segment before the one being read: a live series is described
        again somewhere in the new segment, and until the reader gets there its labels (and
        the senders' encoded copies) must stay, or 100,000 series are decoded and encoded
        again at every rotation."""
        seen = self._label_segment
        for sid in [sid for sid, seg in seen.items() if seg < segment]:
            del seen[sid]
            self.labels.pop(sid, None)
            self._label_records.pop(sid, None)

    def _scan_series(self, segment: int, upto: int) -> None:
        try:
            data = (self.dir / segment_name(segment)).read_bytes()[:upto]
        except OSError:
            return
        for kind, payload, _end in _frames(data, 0):
            if kind == REC_SERIES:
                self._learn(payload, segment)

    def _learn(self, payload: bytes, segment: int) -> None:
        """A series record: decoded only when it differs from the one read before for
        its id (every segment describes its series again)."""
        sid = _SID.unpack_from(payload)[0]
        before = self._label_records.get(sid)
        if before != payload:
            labels = decode(REC_SERIES, payload)[2]
            if before is not None and labels != self.labels.get(sid):
                self._changed.add(sid)
            self.labels[sid] = labels
            self._label_records[sid] = payload
        self._label_segment[sid] = segment

    def take_changed(self) -> set[int]:
        """The ids read with other labels than before (a store that reused an id after a
        restart) since the last call: a sender drops what it cached for them."""
        changed, self._changed = self._changed, set()
        return changed

    def read(self, max_samples: int) -> Batch:
        """Up to ``max_samples`` from the acknowledged position (nothing is consumed)."""
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        count = 0
        segment, offset, skip = self.position.segment, self.position.offset, self.position.skip
        while count < max_samples:
            path = self.dir / segment_name(segment)
            base, advanced = offset, False
            for kind, payload, end in _frames(_read_chunk(path, base), 0):
                advanced = True
                rec = ("series",) if kind == REC_SERIES else decode(kind, payload)
                if kind == REC_SERIES:
                    if parts and self._label_records.get(
                            _SID.unpack_from(payload)[0], payload) != payload:
                        # an id about to name other labels: the batch so far keeps the old
                        # ones, the next one starts at this record
                        return Batch.of(parts, Position(segment, offset, 0))
                    self._learn(payload, segment)
                elif rec[0] in ("samples", "batch"):
                    if rec[0] == "samples":
                        r_ids, r_ts, r_vals = rec[1], rec[2], rec[3]
                    else:
                        r_ts, r_vals = rec[2], rec[3]
                        r_ids = np.full(r_ts.size, rec[1], dtype=np.int64)
                    take = min(max_samples - count, r_ts.size - skip)
                    parts.append((r_ids[skip:skip + take], r_ts[skip:skip + take],
                                  r_vals[skip:skip + take]))
                    count += take
                    if skip + take < r_ts.size:
                        return Batch.of(parts, Position(segment, offset, skip + take))
                    skip = 0
                offset = base + end
                if count >= max_samples:
                    break
            if advanced:
                continue
            # nothing complete here: move on only once a newer segment exists (then a
            # torn tail left by a crash is skipped)
            if not any(s > segment for s in list_segments(self.dir)):
                break
            if next(_frames(_read_chunk(path, offset), 0), None) is not None:
                continue
            segment, offset, skip = segment + 1, 0, 0
        return Batch.of(parts, Position(segment, offset, skip))


def _read_chunk(path: Path, offset: int) -> bytes:
    """Bytes from ``offset``: about ``READ_BYTES``, and at least the first whole frame."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(READ_BYTES)
            if len(data) >= FRAME.size:
                need = FRAME.size + FRAME.unpack_from(data, 0)[0]
                if need > len(data) and need < (1 << 31):
                    data += f.read(need - len(data))
            return data
    except OSError:
        return b""


def _frames(data: bytes, pos: int) -> Iterator[tuple[int, bytes, int]]:
    """Complete, intact frames of ``data``: (type, payload, end offset)."""
    while pos + FRAME.size <= len(data):
        length, crc, kind = FRAME.unpack_from(data, pos)
        end = pos + FRAME.size + length
        if end > len(data):
            return
        payload = data[pos + FRAME.size:end]
        if zlib.crc32(payload, zlib.crc32(bytes((kind,)))) != crc:
            return
        yield kind, payload, end
        pos = end
