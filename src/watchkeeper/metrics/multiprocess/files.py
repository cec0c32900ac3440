"""The per-process value file: an append-only table of named doubles, memory-mapped.

Every worker writes only its own files, named ``<type>_<pid>.wkm`` (gauges:
``gauge_<mode>_<pid>.wkm``), so writers never contend across processes. Layout, all
little-endian and 8-byte aligned so a value update is one aligned 16-byte copy::

    header (32 bytes): b"WKMP" | u32 version | u64 used | 8-byte file id | u64 reserved
    entry:             u32 key length | u32 crc32(key) | key padded to 8 | f64 value | f64 ts

``used`` is written only after an entry is complete, so a reader never follows a half
appended entry. The crc lets a reader skip garbage (a torn page after a host crash, a
truncated copy) instead of failing the scrape. The random file id lets compaction record
which files it has already absorbed (see ``compact``), so an interrupted compaction
never counts a file twice.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from .liveness import create_locked, open_locked

MAGIC = b"WKMP"
VERSION = 1
HEADER_SIZE = 32
SUFFIX = ".wkm"
UNREADABLE_SUFFIX = ".unreadable"  # a dead worker's file set aside by compaction
INITIAL_SIZE = 1 << 14

_HEADER = struct.Struct("<4sIQ8sQ")
_USED = struct.Struct("<Q")
ENTRY_HEAD = struct.Struct("<II")
VALUE_PAIR = struct.Struct("<dd")


def file_name(typ: str, mode: str, pid: str) -> str:
    """``counter_12.wkm``, ``gauge_livesum_12.wkm``: type, gauge mode and pid in the name."""
    return f"{typ}_{mode}_{pid}{SUFFIX}" if typ == "gauge" else f"{typ}_{pid}{SUFFIX}"


def parse_file_name(name: str) -> tuple[str, str, str] | None:
    """(type, mode, pid) from a file name, or None for files that are not ours."""
    if not name.endswith(SUFFIX):
        return None
    parts = name[: -len(SUFFIX)].split("_")
    if len(parts) == 2 and parts[0] in ("counter", "histogram", "summary"):
        return parts[0], "", parts[1]
    if len(parts) == 3 and parts[0] == "gauge":
        return parts[0], parts[1], parts[2]
    return None


def encode_key(
    metric_name: str,
    sample_name: str,
    labelnames: Sequence[str],
    labelvalues: Sequence[str],
    documentation: str,
) -> bytes:
    """The identity of one stored number: metric, sample, labels and help text."""
    return json.dumps(
        [metric_name, sample_name, list(labelnames), [str(v) for v in labelvalues],
         documentation],
        ensure_ascii=False, separators=(",", ":"),
    ).encode("utf-8")


def _entry_size(key_len: int) -> int:
    return ENTRY_HEAD.size + ((key_len + 7) & ~7) + VALUE_PAIR.size


class ValueFile:
    """One process's writable file of one type (and gauge mode); append-only.

    Callers hold ``lock`` of their own while calling ``add``; values then write through
    the ``(mmap, offset)`` pair they got back. A grown file gets a new, larger mapping;
    older mappings stay valid views of the same pages, so existing values keep theirs.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        # The shared lock held for the process's lifetime marks the file as a live
        # worker's (see ``liveness``).
        self.file_id = os.urandom(8)
        header = _HEADER.pack(MAGIC, VERSION, HEADER_SIZE, self.file_id, 0)
        fd = create_locked(path, header, INITIAL_SIZE)
        self._fd = open_locked(path) if fd is None else fd
        size = os.fstat(self._fd).st_size
        self.offsets: dict[bytes, int] = {}
        if size < HEADER_SIZE:
            os.ftruncate(self._fd, INITIAL_SIZE)
            self.capacity = INITIAL_SIZE
            self.map = mmap.mmap(self._fd, self.capacity)
            self.used = HEADER_SIZE
            self.map[:HEADER_SIZE] = header
        else:
            self.capacity = size
            self.map = mmap.mmap(self._fd, self.capacity)
            parsed = read_entries(bytes(self.map))
            if parsed.file_id:  # ours, from an earlier run or by us: carry on with it
                self.file_id = parsed.file_id
            else:  # not a value file (or its header is garbage): start over
                parsed.entries.clear()
                parsed.end = HEADER_SIZE
                self.map[:HEADER_SIZE] = header
            self.used = parsed.end
            for key, _value, _ts, offset in parsed.entries:
                self.offsets[key] = offset
            _USED.pack_into(self.map, 8, self.used)

    def add(self, key: bytes) -> tuple[mmap.mmap, int]:
        """The mapping and offset of ``key``'s (value, timestamp), appending it if new."""
        offset = self.offsets.get(key)
        if offset is not None:
            return self.map, offset
        size = _entry_size(len(key))
        if self.used + size > self.capacity:
            self.capacity = max(self.capacity * 2, self.used + size)
            os.ftruncate(self._fd, self.capacity)
            self.map = mmap.mmap(self._fd, self.capacity)
        start = self.used
        padded = key.ljust((len(key) + 7) & ~7, b" ")
        entry = ENTRY_HEAD.pack(len(key), zlib.crc32(key)) + padded + VALUE_PAIR.pack(0.0, 0.0)
        self.map[start : start + size] = entry
        self.used = start + size
        # Publish the entry only once it is whole.
        self.map[8:16] = _USED.pack(self.used)
        offset = start + size - VALUE_PAIR.size
        self.offsets[key] = offset
        return self.map, offset

    def close(self) -> None:
        os.close(self._fd)


@dataclass
class ParsedFile:
    """What a reader got out of one file; ``damaged`` when some part was skipped."""

    file_id: bytes = b""
    entries: list[tuple[bytes, float, float, int]] = field(default_factory=list)
    damaged: bool = False
    end: int = HEADER_SIZE


def read_header(data: bytes) -> tuple[bytes, int, bool] | None:
    """(file id, end of entries, damaged) from a file's bytes; None if it is not ours."""
    if len(data) < HEADER_SIZE:
        return None
    magic, version, used, file_id, _ = _HEADER.unpack_from(data, 0)
    if magic != MAGIC or version != VERSION:
        return None
    if used > len(data) or used < HEADER_SIZE:
        return file_id, len(data), True
    return file_id, used, False


def scan_entries(data: bytes, pos: int, used: int, out: ParsedFile) -> None:
    """Append the intact entries between ``pos`` and ``used`` to ``out``; skip garbage."""
    entries = out.entries
    unpack_head = ENTRY_HEAD.unpack_from
    unpack_pair = VALUE_PAIR.unpack_from
    crc32 = zlib.crc32
    while pos + ENTRY_HEAD.size <= used:
        key_len, crc = unpack_head(data, pos)
        size = _entry_size(key_len)
        if key_len == 0 or pos + size > used:
            out.damaged = True
            break
        key = data[pos + 8 : pos + 8 + key_len]
        value_at = pos + size - 16
        if crc32(key) == crc:
            value, ts = unpack_pair(data, value_at)
            entries.append((key, value, ts, value_at))
        else:
            out.damaged = True
        pos += size
    out.end = pos


def read_entries(data: bytes) -> ParsedFile:
    """Every intact entry of a file's bytes; garbage is skipped and flagged, never raised."""
    out = ParsedFile()
    header = read_header(data)
    if header is None:
        out.damaged = True
        return out
    out.file_id, used, out.damaged = header
    scan_entries(data, HEADER_SIZE, used, out)
    return out


def read_bytes(path: str) -> bytes | None:
    """A value file's bytes up to its last published entry; None when it vanished."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER_SIZE)
            if len(head) == HEADER_SIZE and head[:4] == MAGIC:
                # Clamped to the file's size: a garbage header must not ask for exabytes.
                used = min(_USED.unpack_from(head, 8)[0], os.fstat(f.fileno()).st_size)
                return head + f.read(max(0, used - HEADER_SIZE))
            return head
    except FileNotFoundError:
        return None


def read_file(path: str) -> ParsedFile | None:
    """Read a value file from disk; None when it vanished (compacted or removed meanwhile)."""
    data = read_bytes(path)
    return None if data is None else read_entries(data)


def read_file_id(path: str) -> bytes | None:
    """Only the id of a file, for compaction's bookkeeping; None if missing or not ours."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEADER_SIZE)
    except FileNotFoundError:
        return None
    if len(head) < HEADER_SIZE or head[:4] != MAGIC:
        return None
    return head[16:24]
