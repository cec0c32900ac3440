"""Values backed by per-process files, for pre-fork servers (gunicorn, uvicorn --workers).

The metric types ask ``directory()`` when a metric is built; if it names a directory they
store each number in a value from ``open_value`` instead of in memory. A value writes
its number into its process's memory-mapped file on every change, so any process can
read every worker's numbers from the files, and one scrape sees them all.

Fork safety: a forked child must not write into its parent's files. A fork bumps a
generation number (``os.register_at_fork``); each value compares it on use and, when
stale, binds itself to the child's own file, starting from the child's own count, so the
sum over files stays exact.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Sequence

from .aggregate import directory_lock, read_aggregate
from .files import VALUE_PAIR, ValueFile, encode_key, file_name, read_file_id

ENV_VARS = ("WATCHKEEPER_MULTIPROC_DIR", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")
TYPES = frozenset({"counter", "gauge", "histogram", "summary"})
GAUGE_MODES = frozenset(
    {"all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent",
     "livemostrecent"}
)
LIVE_GAUGE_MODES = frozenset(m for m in GAUGE_MODES if m.startswith("live"))
TIMESTAMPED_MODES = frozenset({"mostrecent", "livemostrecent"})

_pack_pair = VALUE_PAIR.pack
_pack_double = struct.Struct("<d").pack
_generation = 0
_files: dict[tuple[str, str, str], ValueFile] = {}
_files_lock = threading.Lock()


def directory() -> str | None:
    """The multiprocess directory from the environment, or None when not in that mode."""
    for var in ENV_VARS:
        path = os.environ.get(var)
        if path:
            return path
    return None


def _after_fork_in_child() -> None:
    global _generation, _files_lock
    _generation += 1
    _files_lock = threading.Lock()
    for vfile in _files.values():
        vfile.close()  # its mappings stay valid but are never written by this child
    _files.clear()


if hasattr(os, "register_at_fork"):  # no fork, no pre-fork servers, elsewhere
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _file_for(path: str, typ: str, mode: str) -> ValueFile:
    """This process's file for a type and mode; caller holds ``_files_lock``."""
    found = _files.get((path, typ, mode))
    if found is None:
        name = os.path.join(path, file_name(typ, mode, str(os.getpid())))
        if not os.path.isdir(path):
            raise ValueError(f"the multiprocess directory {path!r} does not exist; create it "
                             "(empty) before the workers start")
        if os.path.exists(name):
            _drop_if_absorbed(path, name)
        found = _files[(path, typ, mode)] = ValueFile(name)
    return found


def _drop_if_absorbed(path: str, name: str) -> None:
    """A reused pid finding a file compaction already counted must start a fresh one."""
    with directory_lock(path):
        file_id = read_file_id(name)
        if file_id is not None and file_id in read_aggregate(path).absorbed:
            os.unlink(name)


class MultiProcessValue:
    """One stored number (a counter, a gauge, one bucket, a sum) in this process's file.

    Thread safe: the read-modify-write of ``inc`` holds a per-value lock, because two
    threads adding at once must not lose an increment; writers in other processes use
    other files, so no lock spans processes.
    """

    __slots__ = ("_gen", "_key", "_lock", "_map", "_mode", "_path", "_slot", "_typ", "_value",
                 "_value_slot")

    def __init__(self, path: str, typ: str, mode: str, key: bytes) -> None:
        self._path = path
        self._typ = typ
        self._mode = mode
        self._key = key
        self._gen = -1
        self._rebind()

    def _rebind(self) -> None:
        with _files_lock:
            if self._gen == _generation:
                return  # another thread of this process got here first
            vfile = _file_for(self._path, self._typ, self._mode)
            mapping, offset = vfile.add(self._key)
            self._value = VALUE_PAIR.unpack_from(mapping, offset)[0]
            self._map = mapping
            self._slot = slice(offset, offset + 16)  # value and timestamp
            self._value_slot = slice(offset, offset + 8)
            self._lock = threading.Lock()
            self._gen = _generation

    def inc(self, amount: float) -> None:
        if self._gen != _generation:
            self._rebind()
        with self._lock:
            value = self._value + amount
            self._value = value
            # One slice copy, never struct.pack_into: that zeroes the bytes first, and a
            # concurrent reader could see the zero.
            self._map[self._value_slot] = _pack_double(value)

    def set(self, value: float, timestamp: float | None = None) -> None:
        if self._gen != _generation:
            self._rebind()
        with self._lock:
            self._value = value
            if timestamp is None:
                self._map[self._value_slot] = _pack_double(value)
            else:
                self._map[self._slot] = _pack_pair(value, timestamp)

    def get(self) -> float:
        if self._gen != _generation:
            self._rebind()
        return self._value

    def set_exemplar(self, exemplar: object) -> None:
        """Exemplars are not kept across processes (as in prometheus_client)."""

    def get_exemplar(self) -> None:
        return None


class TimestampedValue(MultiProcessValue):
    """A gauge in a ``mostrecent`` mode: every write is stamped with the wall clock."""

    __slots__ = ()

    def inc(self, amount: float) -> None:
        if self._gen != _generation:
            self._rebind()
        with self._lock:
            value = self._value + amount
            self._value = value
            self._map[self._slot] = _pack_pair(value, time.time())

    def set(self, value: float, timestamp: float | None = None) -> None:
        super().set(value, time.time() if timestamp is None else timestamp)


def open_value(
    typ: str,
    metric_name: str,
    sample_name: str,
    labelnames: Sequence[str],
    labelvalues: Sequence[str],
    documentation: str,
    multiprocess_mode: str = "",
) -> MultiProcessValue:
    """A value stored in this process's file under the directory of ``directory()``.

    ``typ`` is counter, gauge, histogram or summary; gauges take a ``multiprocess_mode``
    as in prometheus_client (all, liveall, min, max, sum, mostrecent and their live
    forms). Histogram buckets are stored per bucket (not cumulative), with an ``le``
    label; the collector accumulates them.
    """
    path = directory()
    if path is None:
        raise ValueError(
            "multiprocess mode needs PROMETHEUS_MULTIPROC_DIR or WATCHKEEPER_MULTIPROC_DIR")
    if typ not in TYPES:
        raise ValueError(f"multiprocess values are counter, gauge, histogram or summary: {typ!r}")
    if typ == "gauge":
        mode = multiprocess_mode or "all"
        if mode not in GAUGE_MODES:
            raise ValueError(f"invalid multiprocess_mode for a gauge: {multiprocess_mode!r}")
    else:
        mode = ""
    key = encode_key(metric_name, sample_name, labelnames, labelvalues, documentation)
    value_type = TimestampedValue if mode in TIMESTAMPED_MODES else MultiProcessValue
    return value_type(path, typ, mode, key)
