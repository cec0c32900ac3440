"""The embedded store: head + WAL in front of compressed chunks in SQLite.

Samples land in the in-memory head and, on commit, in the write-ahead log. A checkpoint
(by WAL size, head size, age, flush() or close()) encodes the head into chunks, commits
them together with the WAL position they cover, then drops the covered WAL segments.
Maintenance compacts small chunks, builds rollups and applies retention.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from watchkeeper.tsdb import (
    checkpoint,
    chunk_cache,
    compaction,
    datadir,
    retention,
    rollup_cache,
    rollups,
)
from watchkeeper.tsdb.api import (
    MAX_TIME,
    MIN_TIME,
    TimeSeriesStore,
)
from watchkeeper.tsdb.chunks import ChunkDB, ChunkRow
from watchkeeper.tsdb.columns import PendingSamples
from watchkeeper.tsdb.errors import StoreClosedError, TSDBError
from watchkeeper.tsdb.head import NO_TIME, Head
from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.store_append import StoreAppend
from watchkeeper.tsdb.store_reads import StoreReads
from watchkeeper.tsdb.wal import (
    WAL,
    ReplayReport,
    encode_delete,
    list_segments,
    read_segment,
    segment_name,
)

log = logging.getLogger("watchkeeper.tsdb")
SYNC_POLICIES = ("always", "interval", "never")


class _Closing(Exception):
    """The store is closing: maintenance starts no further batch."""


class _BatchGate:
    """The store's lock for one batch of maintenance, refused once the store is closing."""

    def __init__(self, lock: threading.RLock, closing: threading.Event) -> None:
        self.lock, self.closing = lock, closing

    def __enter__(self) -> None:
        if self.closing.is_set():
            raise _Closing
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


class Store(StoreAppend, StoreReads, TimeSeriesStore):
    """One directory, nothing to install. Open with ``Store.open(path)``."""

    def __init__(
        self,
        path: str | Path,
        *,
        sync: str = "interval",
        sync_interval: float = 1.0,
        ooo_window_ms: int = 0,
        retention_ms: int = 30 * compaction.DAY_MS,
        max_bytes: int | None = None,
        checkpoint_interval: float = 300.0,
        wal_max_bytes: int = 64 << 20,
        head_max_samples: int = 4_000_000,
        background: bool = True,
        maintenance_interval: float = 60.0,
        rollup_retention_ms: dict[int, int] | None = None,
    ) -> None:
        if sync not in SYNC_POLICIES:
            raise ValueError(f"sync must be one of {SYNC_POLICIES}, not {sync!r}")
        self.root = Path(path)
        datadir.check_usable(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.sync = sync
        self.ooo_window_ms = ooo_window_ms
        self.retention_ms = retention_ms
        self.max_bytes = max_bytes
        self.rollup_retention_ms = {**rollups.DEFAULT_RETENTION_MS, **(rollup_retention_ms or {})}
        # (oldest raw sample ms, bytes kept, when) as the last maintenance left them
        self.retained: tuple[int | None, int, float] | None = None
        self.checkpoint_interval = checkpoint_interval
        self.wal_max_bytes = wal_max_bytes
        self.head_max_samples = head_max_samples
        self._lock = threading.RLock()
        # one checkpoint at a time; taken before _lock, never while holding it
        self._checkpointing = threading.Lock()
        self._head_epoch = 0  # deletions so far: one during a checkpoint voids its snapshot
        self._dir_lock = datadir.DirLock(self.root)
        self._problems: dict[str, str] = {}
        try:
            self.db = ChunkDB(self.root / datadir.DB_NAME)
        except BaseException:
            self._dir_lock.release()
            raise
        self.head = Head(ooo_window_ms)
        self.index = self.head.index
        self._pending_records: list[tuple[int, bytes]] = []
        self._pending = PendingSamples()
        self._closed = False
        self._dirty = False
        # called under the lock with every committed batch of WAL records (remote write)
        self.taps: list[Any] = []
        self._last_checkpoint = time.monotonic()
        self.recovery = self._load()
        self.wal = WAL(self.root / datadir.WAL_DIR, self._wal_start)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._background,
                name="tsdb-sync",
                args=(sync_interval, maintenance_interval),
                daemon=True,
            )
            self._thread.start()

    @classmethod
    def open(cls, path: str | Path, **options: Any) -> Store:
        """Open (creating if needed) the store in ``path``; replays the WAL after a crash."""
        return cls(path, **options)

    # ---------------------------------------------------------------- loading / recovery
    def _load(self) -> ReplayReport:
        max_t = self.db.series_max_t()
        for series_id, text in self.db.load_series():
            self.head.register(series_id, Labels.from_json(text), max_t.get(series_id, NO_TIME))
        if max_t:
            self.head.max_t = max(max_t.values())
        done = int(self.db.meta("checkpoint_segment", "0") or 0)
        report = ReplayReport()
        segments = [n for n in list_segments(self.root / datadir.WAL_DIR) if n > done]
        for number in segments:
            report.segments += 1
            path = self.root / datadir.WAL_DIR / segment_name(number)
            for record in read_segment(path, report, repair=True):
                self.head.replay(record, report)
            if report.problems:
                self._problems["wal"] = "; ".join(report.problems)
                break
        self._wal_start = (segments[-1] + 1) if segments else done + 1
        if report.records:
            log.warning("store %s: %s", self.root, report)
        return report

    # ---------------------------------------------------------------------- committing
    def commit(self) -> None:
        with self._lock:
            self._commit_locked()

    def _commit_locked(self) -> None:
        self._write_pending_locked()
        if (
            self.wal.bytes_written >= self.wal_max_bytes
            or self.head.samples >= self.head_max_samples
        ) and self._checkpointing.acquire(blocking=False):
            # (if another checkpoint is running, it is about to free the head anyway)
            try:
                self._checkpoint_locked()
            finally:
                self._checkpointing.release()

    def _write_pending_locked(self) -> None:
        if self._closed:
            raise StoreClosedError("store is closed")
        records = self._pending_records
        samples = self._pending.take()
        if samples is not None:
            records.append(samples)
        if records:
            self._pending_records = []
            try:
                self.wal.write(records)
                for tap in self.taps:
                    tap(records)
                if self.sync == "always":
                    self.wal.sync()
                else:
                    self._dirty = True
            except OSError as e:
                self._problems["wal"] = f"cannot write the WAL: {e}"
                raise TSDBError(
                    f"{self.root}: cannot write the WAL ({e}); samples not acknowledged"
                ) from e

    # -------------------------------------------------------------------- checkpoints
    def flush(self) -> None:
        """Persist the head as chunks now (appends and reads wait only briefly)."""
        with self._checkpointing:
            with self._lock:
                snap = self._snapshot_locked()
            encoded = checkpoint.encode(snap)
            with self._lock:
                if snap.epoch != self._head_epoch:  # a deletion changed the head meanwhile
                    snap = self._snapshot_locked()
                    encoded = checkpoint.encode(snap)
                self._persist_locked(snap, *encoded)

    def _checkpoint_locked(self) -> None:
        """The whole checkpoint under the lock (the caller holds ``_checkpointing`` too)."""
        snap = self._snapshot_locked()
        self._persist_locked(snap, *checkpoint.encode(snap))

    def _snapshot_locked(self) -> checkpoint.HeadSnapshot:
        self._write_pending_locked()
        return checkpoint.take(self.head, self.wal.rotate(), self._head_epoch)

    def _persist_locked(self, snap: checkpoint.HeadSnapshot, new_series: list[tuple[int, str]],
                        rows: list[ChunkRow]) -> None:
        self.db.write_checkpoint(new_series, rows, snap.wal_segment)
        checkpoint.release(self.head, snap)
        self.wal.remove_through(snap.wal_segment)
        self._last_checkpoint = time.monotonic()
        self._problems.pop("wal", None)

    def maintain(self) -> dict[str, int]:
        """Checkpoint, compact, build rollups, apply retention: what the background runs.

        Closing the store stops it between two batches (``{"interrupted": 1}``): a SIGTERM
        must not wait for a whole day of series to be merged."""
        self.flush()
        gate = _BatchGate(self._lock, self._stop)
        try:
            done = compaction.compact(self.db, self.head.max_t, gate)
            done["rollups"] = rollups.build(self.db, self.head.max_t, gate)
        except _Closing:
            return {"interrupted": 1}
        with self._lock:
            chunk_cache.expire(self.db)  # what no query has read for a while
            rollup_cache.expire(self.db)
            if self.head.max_t == NO_TIME:  # nothing stored yet: no age to keep to
                return done
            done.update(
                retention.apply_retention(
                    self.db,
                    self.head.max_t,
                    self.retention_ms,
                    self.max_bytes,
                    self.rollup_retention_ms,
                )
            )
            self._forget_empty_series()
            self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.retained = (*retention.footprint(self.db), time.time())
            return done

    def _background(self, sync_interval: float, maintenance_interval: float) -> None:
        last_maintenance = time.monotonic()
        while not self._stop.wait(sync_interval):
            try:
                with self._lock:
                    if self._closed:
                        return
                    self._commit_locked()
                    if self._dirty:
                        self.wal.sync()
                        self._dirty = False
                if time.monotonic() - self._last_checkpoint >= self.checkpoint_interval:
                    self.flush()
                if time.monotonic() - last_maintenance >= maintenance_interval:
                    self.maintain()
                    last_maintenance = time.monotonic()
                self._problems.pop("background", None)
            except Exception as e:  # keep running; health() reports it
                self._problems["background"] = str(e)
                log.error("store %s: background work failed: %s", self.root, e)

    # ----------------------------------------------------------------------- deleting
    def delete_series(
        self, matchers: Sequence[Matcher], start_ms: int = MIN_TIME, end_ms: int = MAX_TIME
    ) -> int:
        with self._lock:
            ids = sorted(self.index.select(matchers))
            if not ids:
                return 0
            self._pending_records.append(encode_delete(ids, start_ms, end_ms))
            self._commit_locked()
            self._head_epoch += 1
            self.head.delete_samples(ids, start_ms, end_ms)
            compaction.delete_range(self.db, ids, start_ms, end_ms)
            self._forget_empty_series()
            return len(ids)

    def _forget_empty_series(self) -> None:
        """Drop series left without any sample (after deletion or retention) from the index."""
        with_data = set(self.db.series_max_t())
        with_data.update(
            r[0] for r in self.db.conn.execute("SELECT DISTINCT series_id FROM rollups")
        )
        for s in list(self.head.by_id.values()):
            if s.id not in with_data and s.head_len() == 0 and s.id not in self.head.unsaved:
                self.head.forget(s)
                self.db.conn.execute("DELETE FROM series WHERE id=?", (s.id,))

    # ----------------------------------------------------------------------- metadata
    def set_metadata(self, family: str, typ: str, help_text: str = "", unit: str = "") -> None:
        """Remember a family's type, help and unit (what exports and the API show)."""
        value = json.dumps([typ, help_text, unit])
        with self._lock:
            self.db.conn.execute(
                "INSERT OR REPLACE INTO meta VALUES(?, ?)", (f"family:{family}", value)
            )

    def metadata(self) -> dict[str, tuple[str, str, str]]:
        """family -> (type, help, unit) of every family seen."""
        with self._lock:
            rows = self.db.conn.execute("SELECT key, value FROM meta WHERE key LIKE 'family:%'")
            return {k[7:]: tuple(json.loads(v)) for k, v in rows}  # type: ignore[misc]

    def close(self) -> None:
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._checkpointing, self._lock:
            try:
                self._checkpoint_locked()
            finally:
                self._closed = True
                self.wal.close()
                self.db.close()
                self._dir_lock.release()
