"""MultiProcessCollector: one scrape that sees every worker's numbers.

Register it on a registry in the process that serves ``/metrics``; it reads the live
workers' files and the aggregate of the dead ones at every scrape. Other collectors on
the same registry keep working: the registry simply yields their families too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from ..family import GaugeMetricFamily, Metric
from .aggregate import AGGREGATE_NAME, HEADER_SIZE, Aggregate, decode
from .compact import compact_dead_workers
from .files import UNREADABLE_SUFFIX, parse_file_name, read_bytes
from .merge import build_families, merge_aggregate
from .reader import FileReader, Layout, merge_layout
from .values import directory

DAMAGED_FILES_METRIC = "watchkeeper_multiprocess_damaged_files"
_STATES_KEPT = 16
_states: dict[str, _DirectoryState] = {}
_states_lock = threading.Lock()


def _state_for(path: str) -> _DirectoryState:
    key = os.path.realpath(path)
    with _states_lock:
        state = _states.pop(key, None) or _DirectoryState(key)
        _states[key] = state  # most recently used last
        while len(_states) > _STATES_KEPT:
            del _states[next(iter(_states))]
        return state


def _forget_states_after_fork() -> None:
    global _states_lock
    _states_lock = threading.Lock()  # another thread may have held it at the fork
    _states.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_states_after_fork)


class MultiProcessCollector:
    """Collector for multiprocess mode, a drop-in for prometheus_client's.

    ``path`` defaults to ``PROMETHEUS_MULTIPROC_DIR`` / ``WATCHKEEPER_MULTIPROC_DIR``.
    A file some worker left half-written, or any garbage, is read as far as it is
    intact; how many files had a bad part is exposed as a gauge instead of failing.

    With ``compact_dead`` (the default) each scrape first compacts workers that have
    exited, as ``mark_process_dead`` would, so no child-exit hook is needed.
    """

    def __init__(
        self, registry: object | None, path: str | None = None, compact_dead: bool = True
    ) -> None:
        path = path or directory()
        if not path or not os.path.isdir(path):
            raise ValueError(
                "env PROMETHEUS_MULTIPROC_DIR (or WATCHKEEPER_MULTIPROC_DIR) is not set "
                "or not a directory")
        self._path = path
        self._state = _state_for(path)
        self._compact_dead = compact_dead
        if registry is not None:
            registry.register(self)  # type: ignore[attr-defined]

    def describe(self) -> list[Metric]:
        # Names are only known at scrape time; an empty description avoids a collect on
        # registration.
        return []

    def collect(self) -> Iterator[Metric]:
        merged, damaged = self.merge()
        yield from build_families(merged)
        yield GaugeMetricFamily(
            DAMAGED_FILES_METRIC,
            "Multiprocess value files with a part that could not be read at this scrape "
            "(the readable rest was used), including files set aside as unreadable.",
            value=damaged,
        )

    def merge(self) -> tuple[Aggregate, int]:
        """Every worker's numbers merged (buckets not yet cumulative), and a damage count."""
        if self._compact_dead:
            try:
                compact_dead_workers(self._path)
            except OSError:  # e.g. a read-only view of the directory: just read it
                pass
        return self._state.merge()


class _DirectoryState:
    """What scrapes of one directory remember: file layouts and the decoded aggregate.

    Shared by every collector of the directory, because the usual pattern builds a new
    registry and collector for each request to ``/metrics``.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._reader = FileReader()
        self._lock = threading.Lock()
        self._aggregate_seen: bytes | None = None
        self._aggregate = Aggregate()

    def merge(self) -> tuple[Aggregate, int]:
        with self._lock:  # layouts are shared between scrapes; one scrape at a time
            return self._merge()

    def _merge(self) -> tuple[Aggregate, int]:
        files: list[tuple[str, str, Layout, bytes]] = []
        damaged = 0
        names = set()
        for name in os.listdir(self._path):
            parsed_name = parse_file_name(name)
            if parsed_name is None:
                damaged += name.endswith(UNREADABLE_SUFFIX) or ".damaged-" in name
                continue
            data = read_bytes(os.path.join(self._path, name))
            if data is None:  # compacted or removed since the listing
                continue
            names.add(name)
            typ, mode, pid = parsed_name
            layout = self._reader.layout(name, pid, mode in ("all", "liveall"), data)
            if layout is None:
                damaged += 1
                continue
            damaged += layout.damaged or layout.pending or bool(layout.retry)
            files.append((typ, mode, layout, data))
        self._reader.forget_missing(names)
        # The aggregate is read after the files: a compaction racing with this scrape
        # then either shows the dead worker's files and an aggregate without them, or an
        # aggregate naming them as absorbed, whose files are skipped below.
        aggregate = self._read_aggregate()
        merged = Aggregate()
        damaged += aggregate.damaged
        merge_aggregate(merged, aggregate)
        absorbed = aggregate.absorbed
        for typ, mode, layout, data in files:
            if layout.file_id not in absorbed:
                merge_layout(merged, typ, mode, layout, data)
        return merged, damaged

    def _read_aggregate(self) -> Aggregate:
        """The aggregate, decoded again only when the file was replaced."""
        try:
            with open(os.path.join(self._path, AGGREGATE_NAME), "rb") as f:
                # The header holds the payload's length and crc32; file times are too
                # coarse to tell two quick compactions apart.
                head = f.read(HEADER_SIZE)
                if head != self._aggregate_seen:
                    self._aggregate = decode(head + f.read())
                    self._aggregate_seen = head
        except FileNotFoundError:
            self._aggregate_seen = None
            self._aggregate = Aggregate()
        return self._aggregate
