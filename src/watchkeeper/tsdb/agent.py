"""The agent-mode store: scrape, collect and forward only, as Prometheus's agent mode.

It keeps what appending needs (each series' id, labels and newest timestamp, so out-of-order
and duplicate samples are refused as the full store refuses them) and no samples at all:
every committed record goes to the taps, the remote-write queues, whose segment logs are the
write-ahead log and are deleted as the remote storage acknowledges them. Queries find
nothing; rules and alerts belong to the central store.

Series ids are never reused across restarts (a queue may still hold records written under
old ids): they are handed out from blocks reserved on disk before use.

Series that stop receiving samples are forgotten (``gc``), as Prometheus's agent drops them
at each WAL truncation: memory holds the series of the last few hours, not every series
ever seen. Forgetting loses nothing: each queue's log describes its own series.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from watchkeeper.tsdb import datadir
from watchkeeper.tsdb.api import (
    MAX_TIME,
    MIN_TIME,
    Health,
    LabelsLike,
    RollupData,
    SeriesData,
    TimeSeriesStore,
)
from watchkeeper.tsdb.columns import Handles, PendingSamples, accept_columns, check_columns
from watchkeeper.tsdb.errors import StoreClosedError
from watchkeeper.tsdb.head import MAX_HEAD_TIME, NO_TIME, Head, Series
from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.wal import ReplayReport, encode_batch, encode_series

IDS_FILE = datadir.AGENT_IDS
ID_BLOCK = 1 << 16
log = logging.getLogger("watchkeeper.tsdb")


class AgentStore(TimeSeriesStore):
    mode = "agent"

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path)
        self.root.mkdir(parents=True, exist_ok=True)
        self._dir_lock = datadir.DirLock(self.root)
        self._lock = threading.RLock()
        self.head = Head()
        self.index = self.head.index
        self.taps: list[Any] = []
        self.recovery = ReplayReport()
        self.retention_ms = 0
        self.max_bytes = None
        self.retained = None
        self.forwarded = 0
        self.removed = 0  # series forgotten by ``gc``
        self._gc_epoch = 0  # moves at every forgetting: lookups made before it are redone
        self._gc_stop = threading.Event()
        self._gc_thread: threading.Thread | None = None
        self._closed = False
        self._records: list[tuple[int, bytes]] = []
        self._pending = PendingSamples()  # samples for the next commit's sample record
        self._reserved = 0
        self.head.next_id = self._read_next_id()
        self._reserve()

    @classmethod
    def open(cls, path: str | Path, **_options: Any) -> AgentStore:
        return cls(path)

    # ------------------------------------------------------------------------ series ids
    def _read_next_id(self) -> int:
        try:
            return max(1, int((self.root / IDS_FILE).read_text().strip()))
        except (OSError, ValueError):
            return 1

    def _reserve(self) -> None:
        """Persist the end of a new block of ids before handing any of it out."""
        self._reserved = self.head.next_id + ID_BLOCK
        tmp = self.root / (IDS_FILE + ".tmp")
        with open(tmp, "w") as f:
            f.write(str(self._reserved))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / IDS_FILE)

    def resolve(self, labels: LabelsLike) -> Series:
        return self._series_for(labels)

    def _series_for(self, labels: LabelsLike | Series) -> Series:
        if type(labels) is Series:  # a handle from resolve(): still this head's?
            if self.head.by_id.get(labels.id) is labels:
                return labels
            labels = labels.labels
        s = self.head.lookup(labels)
        if s is None:
            with self._lock:
                if self.head.next_id >= self._reserved:
                    self._reserve()
                s, created = self.head.get_or_create(labels)
                if created:
                    self.head.unsaved.pop(s.id, None)
                    self._records.append(encode_series(s.id, s.labels))
        return s

    # ------------------------------------------------------------------------- appending
    def _accept(self, s: Series, ts: int, value: float) -> bool:
        """Newer is taken; an identical resend is ignored; older or a second value at the
        same time is refused and counted (the full store's rules, without its window)."""
        if ts > s.last_ts:
            s.last_ts, s.last_bits = ts, value
            if ts > self.head.max_t:
                self.head.max_t = ts
            return True
        if ts == s.last_ts:
            if s.last_bits is not None and np.float64(s.last_bits).tobytes() == \
                    np.float64(value).tobytes():
                return False
            self.head.rejected["duplicate"] += 1
        else:
            self.head.rejected["out_of_order"] += 1
        return False

    def append(self, labels: LabelsLike, ts_ms: int, value: float) -> bool:
        if not -MAX_HEAD_TIME < ts_ms < MAX_HEAD_TIME:
            raise ValueError(f"timestamp {ts_ms} ms is out of range")
        epoch = self._gc_epoch
        s = self._series_for(labels)
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            if epoch != self._gc_epoch:
                s = self._series_for(labels)
            if not self._accept(s, ts_ms, value):
                return False
            p = self._pending
            p.ids.append(s.id)
            p.ts.append(ts_ms)
            p.vals.append(value)
            return True

    def _append_part(self, part: list[tuple[LabelsLike, int, float]]) -> int:
        """A part of ``append_many``: series looked up first, then one hold of the lock."""
        found = []
        epoch = self._gc_epoch
        for labels, ts_ms, value in part:
            if not -MAX_HEAD_TIME < ts_ms < MAX_HEAD_TIME:
                raise ValueError(f"timestamp {ts_ms} ms is out of range")
            found.append((self._series_for(labels), ts_ms, value))
        kept = 0
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            if epoch != self._gc_epoch:  # ``gc`` may have forgotten a series looked up
                found = [(self._series_for(labels), t, v) for labels, t, v in part]
            p = self._pending
            accept, ids, stamps, vals = self._accept, p.ids, p.ts, p.vals
            for s, ts_ms, value in found:
                if accept(s, ts_ms, value):
                    ids.append(s.id)
                    stamps.append(ts_ms)
                    vals.append(value)
                    kept += 1
        return kept

    def resolve_many(self, labels: Sequence[LabelsLike]) -> Handles:
        epoch = self.head.forgotten  # read first: a series forgotten meanwhile is renewed
        return Handles(self, [self._series_for(lb) for lb in labels], epoch)

    def append_columns(self, handles: Handles, ts_ms: int | np.ndarray,
                       values: np.ndarray) -> int:
        if handles.owner is not self:
            raise ValueError("handles resolved by another store")
        ts, vals = check_columns(handles, ts_ms, values)
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            if handles.epoch != self.head.forgotten:  # ``gc`` forgot some series
                handles.renew(self.head, self._series_for)
            if ts is None:  # one timestamp: the newer ones taken inline, no call each
                t, rejected, taken = int(ts_ms), [], False  # type: ignore[arg-type]
                for i, (s, v) in enumerate(zip(handles.series, vals.tolist(), strict=True)):
                    if t > s.last_ts:
                        s.last_ts, s.last_bits, taken = t, v, True
                    elif not self._accept(s, t, v):
                        rejected.append(i)
                if taken and t > self.head.max_t:
                    self.head.max_t = t
            else:
                rejected = accept_columns(handles.series, ts, ts_ms, vals, self._accept)
            return self._pending.add_kept(handles.ids, ts, ts_ms, vals, rejected)

    def append_array(self, labels: LabelsLike, ts_ms: np.ndarray, values: np.ndarray) -> int:
        ts = np.ascontiguousarray(ts_ms, dtype=np.int64)
        vals = np.ascontiguousarray(values, dtype=np.float64)
        if ts.shape != vals.shape or ts.ndim != 1:
            raise ValueError("timestamps and values must be 1-d arrays of equal length")
        epoch = self._gc_epoch
        s = self._series_for(labels)
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            if epoch != self._gc_epoch:
                s = self._series_for(labels)
            keep = [i for i, (t, v) in enumerate(zip(ts.tolist(), vals.tolist(), strict=True))
                    if self._accept(s, t, v)]
            if keep:
                self._records.append(encode_batch(s.id, ts[keep], vals[keep]))
            self._commit_locked()
            return len(keep)

    def commit(self) -> None:
        with self._lock:
            self._commit_locked()

    def _commit_locked(self) -> None:
        if self._closed:
            raise StoreClosedError("store is closed")
        records = self._records
        count = len(self._pending)
        samples = self._pending.take()
        if samples is not None:
            records.append(samples)
            self.forwarded += count
        if records:
            self._records = []
            for tap in self.taps:
                tap(records)

    def flush(self) -> None:
        self.commit()

    # ------------------------------------------------------------------ forgetting series
    def gc(self, mint_ms: int) -> int:
        """Forget every series whose newest sample is older than ``mint_ms``; how many.

        What was appended is committed to the taps first, so every sample of a forgotten
        series is already in the queues, whose logs describe their own series. A series
        that comes back is created again under a new id."""
        with self._lock:
            if self._closed:
                return 0
            self._commit_locked()
            old = [s for s in self.head.by_id.values() if s.last_ts < mint_ms]
            for s in old:
                self.head.forget(s)
            if old:
                self._gc_epoch += 1
                self.removed += len(old)
            return len(old)

    def start_gc(self, every: float, mint: Callable[[], int]) -> None:
        """Every ``every`` seconds, forget the series older than ``mint()`` (Prometheus's
        agent truncates its WAL and drops such series every two hours by default)."""
        def run() -> None:
            while not self._gc_stop.wait(every):
                try:
                    dropped = self.gc(mint())
                    if dropped:
                        log.info("agent store: forgot %d series that stopped", dropped)
                except Exception:
                    log.exception("agent store: forgetting old series failed")

        self._gc_thread = threading.Thread(target=run, name="agent-gc", daemon=True)
        self._gc_thread.start()

    # ---------------------------------------------------------------- nothing to read
    def select(self, matchers: Sequence[Matcher], start_ms: int = MIN_TIME,
               end_ms: int = MAX_TIME) -> Iterator[SeriesData]:
        return iter(())

    def select_rollup(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int,
                      resolution_ms: int, columns: Sequence[str] | None = None
                      ) -> Iterator[RollupData]:
        return iter(())

    def series(self, matchers: Sequence[Matcher], start_ms: int | None = None,
               end_ms: int | None = None) -> list[Labels]:
        return []

    def label_names(self, matchers: Sequence[Matcher] = (), start_ms: int | None = None,
                    end_ms: int | None = None) -> list[str]:
        return []

    def label_values(self, name: str, matchers: Sequence[Matcher] = (),
                     start_ms: int | None = None, end_ms: int | None = None) -> list[str]:
        return []

    def delete_series(self, matchers: Sequence[Matcher], start_ms: int = MIN_TIME,
                      end_ms: int = MAX_TIME) -> int:
        return 0

    def set_metadata(self, family: str, typ: str, help_text: str = "", unit: str = "") -> None:
        pass

    def metadata(self) -> dict[str, tuple[str, str, str]]:
        return {}

    # ------------------------------------------------------------------ stats, health
    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"mode": "agent", "series": len(self.head.by_id), "samples": 0,
                    "head_samples": 0, "forwarded_samples": self.forwarded,
                    "removed_series": self.removed, "chunks": 0,
                    "chunk_bytes": 0, "rollup_blocks": 0, "rollup_bytes": 0,
                    "bytes_on_disk": 0, "bytes_per_sample": None, "min_time_ms": None,
                    "max_time_ms": None if self.head.max_t == NO_TIME else self.head.max_t,
                    "rejected": dict(self.head.rejected), "top_metrics": {},
                    "recovered": None}

    def health(self) -> Health:
        return Health("ok", [])

    def close(self) -> None:
        self._gc_stop.set()
        if self._gc_thread is not None:
            self._gc_thread.join(5.0)
        with self._lock:
            if self._closed:
                return
            try:
                self._commit_locked()
            finally:
                self._closed = True
                self._dir_lock.release()
