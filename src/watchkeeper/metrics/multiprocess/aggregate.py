"""The aggregate file: dead workers' numbers, merged, in one file replaced atomically.

Scrape cost in multiprocess mode is the number of files times the series in each. Dead
workers never change again, so ``mark_process_dead`` folds their files into this one
file and deletes them; a scrape then reads one merged table however many workers ever
lived.

Crash safety: a new aggregate is written to a temporary file, fsynced and renamed over
the old one (atomic on POSIX), then the directory is fsynced. It lists the ids of the
value files it absorbed, so if the process stops between the rename and deleting those
files, readers skip them (they are already counted) and the next compaction deletes
them. Interrupted before the rename, the old aggregate and the files are untouched: the
dead worker was either counted in the aggregate or in its own files, never both.

An id is kept a while after its file is gone (``RETAIN_SECONDS``), so a scrape that read
a file just before a compaction deleted it still knows to skip it.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

AGGREGATE_NAME = "aggregate.wka"
LOCK_NAME = "compaction.lock"
RETAIN_SECONDS = 600.0
MAGIC = b"WKAG"
VERSION = 1
_HEADER = struct.Struct("<4sIIIQ")  # magic, version, crc32, reserved, payload length
HEADER_SIZE = _HEADER.size

# (metric name, sample name, sorted label pairs) -> [value, timestamp]
SampleKey = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass
class Aggregate:
    """Merged numbers of absorbed files, per metric family, plus the ids of those files."""

    # file id -> when its file was last seen on disk (seconds since the epoch)
    absorbed: dict[bytes, float] = field(default_factory=dict)
    # metric name -> (type, gauge mode, help text)
    families: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    samples: dict[SampleKey, list[float]] = field(default_factory=dict)
    damaged: bool = False


def read_aggregate(directory: str) -> Aggregate:
    """The directory's aggregate; empty if there is none, flagged ``damaged`` if unreadable."""
    try:
        with open(os.path.join(directory, AGGREGATE_NAME), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return Aggregate()
    return decode(data)


def decode(data: bytes) -> Aggregate:
    if len(data) < _HEADER.size:
        return Aggregate(damaged=True)
    magic, version, crc, _, length = _HEADER.unpack_from(data, 0)
    payload = data[_HEADER.size : _HEADER.size + length]
    if magic != MAGIC or version != VERSION or len(payload) != length:
        return Aggregate(damaged=True)
    if zlib.crc32(payload) != crc:
        return Aggregate(damaged=True)
    try:
        doc = json.loads(payload)
        agg = Aggregate(absorbed={bytes.fromhex(i): float(t) for i, t in doc["absorbed"].items()})
        agg.families = {name: (t, m, h) for name, (t, m, h) in doc["families"].items()}
        samples = agg.samples
        for metric, sample, labels, value, ts in doc["samples"]:
            samples[(metric, sample, tuple(tuple(p) for p in labels))] = [value, ts]
    except (ValueError, KeyError, TypeError):
        return Aggregate(damaged=True)
    return agg


def encode(agg: Aggregate) -> bytes:
    payload = json.dumps(
        {
            "absorbed": {i.hex(): t for i, t in sorted(agg.absorbed.items())},
            "families": agg.families,
            "samples": [[m, s, labels, v, ts] for (m, s, labels), (v, ts) in
                        agg.samples.items()],
        },
        ensure_ascii=False, separators=(",", ":"), allow_nan=True,
    ).encode("utf-8")
    return _HEADER.pack(MAGIC, VERSION, zlib.crc32(payload), 0, len(payload)) + payload


def write_aggregate(directory: str, agg: Aggregate) -> None:
    """Replace the aggregate atomically and durably (temp file, fsync, rename, fsync dir)."""
    final = os.path.join(directory, AGGREGATE_NAME)
    temp = f"{final}.tmp-{os.getpid()}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, encode(agg))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, final)
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # platforms that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def directory_lock(directory: str) -> Iterator[None]:
    """Serialise compactions (and pid reuse checks) across processes sharing the directory."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no fork-based servers without fcntl
        yield
        return
    fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
