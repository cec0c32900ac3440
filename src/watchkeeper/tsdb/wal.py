"""Write-ahead log: numbered segment files of checksummed records.

Why: samples are acknowledged once their record is written (and, with sync=always,
fsynced); compressed chunks are written later in batches. After a crash, the segments
newer than the last checkpoint are replayed into the head. A torn record at the tail
(the process died mid-write) ends replay there and is cut off, and the report says so.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from watchkeeper.tsdb.labels import Labels

SEGMENT_RE = re.compile(r"^(\d{8})\.wal$")
_FRAME = struct.Struct("<IIB")  # payload length, crc32(type byte + payload), type
REC_SERIES, REC_SAMPLES, REC_BATCH, REC_DELETE = 1, 2, 3, 4
_MAX_RECORD = 1 << 31


@dataclass
class ReplayReport:
    """What a replay found: shown to the operator after an unclean shutdown."""

    segments: int = 0
    records: int = 0
    samples: int = 0
    series: int = 0
    torn_bytes: int = 0
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"replayed {self.records} WAL records from {self.segments} segments: "
            f"{self.samples} samples, {self.series} new series"
        )
        if self.torn_bytes:
            text += f"; cut {self.torn_bytes} bytes of a torn tail"
        return text


def segment_name(number: int) -> str:
    return f"{number:08d}.wal"


def list_segments(wal_dir: Path) -> list[int]:
    if not wal_dir.is_dir():
        return []
    found = (SEGMENT_RE.match(p.name) for p in wal_dir.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def encode_series(series_id: int, labels: Labels) -> tuple[int, bytes]:
    return REC_SERIES, struct.pack("<I", series_id) + labels.to_json().encode()


def encode_samples(ids: list[int], ts: list[int], vals: list[float]) -> tuple[int, bytes]:
    n = len(ids)
    return REC_SAMPLES, b"".join(
        (
            struct.pack("<I", n),
            np.array(ids, dtype="<u4").tobytes(),
            np.array(ts, dtype="<i8").tobytes(),
            np.array(vals, dtype="<f8").tobytes(),
        )
    )


def encode_batch(series_id: int, ts: np.ndarray, vals: np.ndarray) -> tuple[int, bytes]:
    return REC_BATCH, b"".join(
        (
            struct.pack("<II", series_id, ts.size),
            np.ascontiguousarray(ts, dtype="<i8").tobytes(),
            np.ascontiguousarray(vals, dtype="<f8").tobytes(),
        )
    )


def encode_delete(series_ids: list[int], start: int, end: int) -> tuple[int, bytes]:
    return REC_DELETE, struct.pack("<qqI", start, end, len(series_ids)) + np.array(
        series_ids, dtype="<u4"
    ).tobytes()


def decode(kind: int, payload: bytes) -> tuple:
    """Record payload -> ('series', id, labels) | ('samples', ids, ts, vals) | ..."""
    if kind == REC_SERIES:
        return (
            "series",
            struct.unpack_from("<I", payload)[0],
            Labels.from_json(payload[4:].decode()),
        )
    if kind == REC_SAMPLES:
        n = struct.unpack_from("<I", payload)[0]
        if len(payload) != 4 + 20 * n:
            raise ValueError("sample record length mismatch")
        ids = np.frombuffer(payload, "<u4", n, 4)
        ts = np.frombuffer(payload, "<i8", n, 4 + 4 * n)
        vals = np.frombuffer(payload, "<f8", n, 4 + 12 * n)
        return ("samples", ids, ts, vals)
    if kind == REC_BATCH:
        sid, n = struct.unpack_from("<II", payload)
        if len(payload) != 8 + 16 * n:
            raise ValueError("batch record length mismatch")
        return (
            "batch",
            sid,
            np.frombuffer(payload, "<i8", n, 8),
            np.frombuffer(payload, "<f8", n, 8 + 8 * n),
        )
    if kind == REC_DELETE:
        start, end, n = struct.unpack_from("<qqI", payload)
        return ("delete", np.frombuffer(payload, "<u4", n, 20).tolist(), start, end)
    raise ValueError(f"unknown record type {kind}")


class WAL:
    """Appends records to the current segment; rotates at checkpoints."""

    def __init__(self, wal_dir: Path, first_segment: int) -> None:
        self.dir = wal_dir
        self.dir.mkdir(exist_ok=True)
        self.segment = first_segment
        self._fd = os.open(
            self.dir / segment_name(first_segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        self.bytes_written = os.fstat(self._fd).st_size

    def write(self, records: list[tuple[int, bytes]]) -> None:
        """Write records in one system call, so a crash tears at most the last one."""
        frames = []
        for kind, payload in records:
            frames.append(
                _FRAME.pack(len(payload), zlib.crc32(payload, zlib.crc32(bytes((kind,)))), kind)
            )
            frames.append(payload)
        data = b"".join(frames)
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            # disk full mid-record: cut the partial record so later records stay readable
            try:
                os.ftruncate(self._fd, self.bytes_written)
            except OSError:
                pass
            raise
        self.bytes_written += len(data)

    def sync(self) -> None:
        os.fdatasync(self._fd)

    def rotate(self) -> int:
        """Start a new segment; returns the number of the one just closed."""
        self.sync()
        os.close(self._fd)
        done = self.segment
        self.segment += 1
        self._fd = os.open(
            self.dir / segment_name(self.segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        self.bytes_written = 0
        _fsync_dir(self.dir)
        return done

    def remove_through(self, number: int) -> None:
        for seg in list_segments(self.dir):
            if seg <= number:
                (self.dir / segment_name(seg)).unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_segment(path: Path, report: ReplayReport, repair: bool) -> Iterator[tuple]:
    """Yield decoded records; stop at the first damaged one and (if repair) cut it off."""
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        bad = None
        if pos + _FRAME.size > len(data):
            bad = "truncated frame header"
        else:
            length, crc, kind = _FRAME.unpack_from(data, pos)
            end = pos + _FRAME.size + length
            if length > _MAX_RECORD or end > len(data):
                bad = "truncated record"
            else:
                payload = data[pos + _FRAME.size : end]
                if zlib.crc32(payload, zlib.crc32(bytes((kind,)))) != crc:
                    bad = "checksum mismatch"
                else:
                    try:
                        record = decode(kind, payload)
                    except (ValueError, TypeError, UnicodeDecodeError, struct.error) as e:
                        bad = f"undecodable record: {e}"
        if bad is not None:
            report.torn_bytes += len(data) - pos
            report.problems.append(
                f"{path.name}: {bad} at offset {pos}; {len(data) - pos} bytes dropped"
            )
            if repair:
                with open(path, "r+b") as f:
                    f.truncate(pos)
                    os.fsync(f.fileno())
            return
        report.records += 1
        yield record
        pos = end
