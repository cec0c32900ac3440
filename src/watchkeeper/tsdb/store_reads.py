"""Reading the store: series by matchers, raw samples (one series at a time or as blocks of
arrays), rollups, label names and values, and the store's figures.

A part of ``Store`` in a module of its own (the store's file held appending, checkpoints,
maintenance and reading at once); it reads the attributes ``Store.__init__`` sets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from watchkeeper.tsdb import (
    batch_read,
    chunk_cache,
    datadir,
    rollup_gather,
    rollups,
)
from watchkeeper.tsdb.api import (
    MAX_TIME,
    MIN_TIME,
    Health,
    RollupBlock,
    RollupData,
    SeriesBlock,
    SeriesData,
)
from watchkeeper.tsdb.head import NO_TIME, Series
from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher


class StoreReads:
    """The read side of ``Store``."""

    # ------------------------------------------------------------------------ reading
    def _ids(self, matchers: Sequence[Matcher], start: int | None, end: int | None) -> list[int]:
        with self._lock:
            ids = self.index.select(matchers)
            if start is not None or end is not None:
                lo = MIN_TIME if start is None else _ms(start)
                hi = MAX_TIME if end is None else _ms(end)
                in_db = self.db.series_with_data(lo, hi)
                ids = {
                    i for i in ids if i in in_db or self._head_overlaps(self.head.by_id[i], lo, hi)
                }
            return sorted(ids, key=lambda i: self.head.by_id[i].labels)

    @staticmethod
    def _head_overlaps(s: Series, lo: int, hi: int) -> bool:
        span = s.head_span()
        return span is not None and span[0] <= hi and span[1] >= lo

    def select(
        self, matchers: Sequence[Matcher], start_ms: int = MIN_TIME, end_ms: int = MAX_TIME
    ) -> Iterator[SeriesData]:
        return self._read(self._ids(matchers, None, None), start_ms, end_ms)

    def select_blocks(
        self, matchers: Sequence[Matcher], start_ms: int = MIN_TIME, end_ms: int = MAX_TIME
    ) -> Iterator[SeriesBlock]:
        return self._read_blocks(self._ids(matchers, None, None), start_ms, end_ms)

    _READ_BATCH = 4096  # series a read decodes together

    def _read(self, ids: list[int], start_ms: int, end_ms: int) -> Iterator[SeriesData]:
        for block in self._read_blocks(ids, start_ms, end_ms):
            yield from batch_read.split_block(block)

    def _read_blocks(self, ids: list[int], start_ms: int, end_ms: int,
                     ) -> Iterator[SeriesBlock]:
        start_ms, end_ms = _ms(start_ms), _ms(end_ms)
        with self._lock:
            by_id = self.head.by_id
            # a series forgotten since the ids were chosen had no sample left anywhere
            ids = [i for i in ids if i in by_id]
            cache = chunk_cache.cache_for(self.db, self.db.conn)
            generation = cache.sync()
            refs = self.db.chunk_ids(ids, start_ms, end_ms)
            decoded = cache.get_many(rowid for rowid, _ in refs)
            blobs = self.db.chunk_data([rowid for rowid, _ in refs if rowid not in decoded])
            labels = [by_id[i].labels for i in ids]
            in_order = np.fromiter((by_id[i].sorted for i in ids), bool, len(ids))
            heads = self.head.copy_heads(ids, start_ms, end_ms)
            unsorted_heads = {
                i: batch_read.clip(*by_id[i].head_arrays(), start_ms, end_ms)
                for i in ids if not by_id[i].sorted and by_id[i].head_len()
            }
        # decoded outside the lock (the blobs are ours), a batch of series at a time: a
        # reader that stops early (too many samples) never decodes the rest
        chunks: dict[int, list[int]] = {}
        for rowid, sid in refs:
            chunks.setdefault(sid, []).append(rowid)
        for at in range(0, len(ids), self._READ_BATCH):
            part = slice(at, at + self._READ_BATCH)
            rows = [chunks.get(i, []) for i in ids[part]]
            fresh = batch_read.decode_missing([r for series in rows for r in series
                                               if r not in decoded], blobs)
            cache.put_many(fresh.items(), generation)
            decoded.update(fresh)
            yield batch_read.read_columns(
                ids[part], labels[part], in_order[part],
                [[decoded[r] for r in series if r in decoded] for series in rows],
                (heads[0], heads[1], heads[2][part], heads[3][part]), unsorted_heads,
                start_ms, end_ms)

    def has_rollups(self, matchers: Sequence[Matcher], resolution_ms: int) -> bool:
        with self._lock:
            ids = sorted(self.index.select(matchers))
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                if self.db.conn.execute(
                    "SELECT 1 FROM rollups INDEXED BY rollups_span WHERE res=? AND "
                    f"series_id IN ({','.join('?' * len(part))}) LIMIT 1",
                    (int(resolution_ms), *part),
                ).fetchone():
                    return True
        return False

    def select_rollup(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        resolution_ms: int,
        columns: Sequence[str] | None = None,
        windows: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Iterator[RollupData]:
        """With ``windows`` (starts and ends, sorted, apart), stored buckets outside them
        are left out: a [1m] window at 2 h steps needs 1 % of a month's buckets."""
        wanted = rollups.wanted_columns(columns)
        found, parts = self._rollup_parts(matchers, start_ms, end_ms, resolution_ms, wanted,
                                          windows)
        for labels, cols in zip(found, rollup_gather.assemble(parts, wanted), strict=True):
            yield RollupData(labels, *cols)  # type: ignore[arg-type]

    def select_rollup_block(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int, resolution_ms: int,
        columns: Sequence[str] | None = None,
    ) -> RollupBlock:
        wanted = rollups.wanted_columns(columns)
        found, parts = self._rollup_parts(matchers, start_ms, end_ms, resolution_ms, wanted)
        bounds, stamps, values, names = rollup_gather.gather(parts, wanted)
        return RollupBlock(found, np.diff(np.asarray(bounds, np.int64)), stamps,
                           {rollups.COLUMNS[c]: values[i] for i, c in enumerate(names)})

    def _rollup_parts(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int, resolution_ms: int,
        wanted: tuple[int, ...], windows: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[list[Labels], list[rollup_gather.Part]]:
        """(labels, (stored block views, on-the-fly tail)) of each series with buckets."""
        start_ms, end_ms = _ms(start_ms), _ms(end_ms)
        with self._lock:
            ids = sorted(self.index.select(matchers), key=lambda i: self.head.by_id[i].labels)
            done_through = rollups.built_through(self.db)
            stored_end = min(end_ms, done_through - 1)
            stored = rollups.read(self.db, ids, resolution_ms, start_ms, stored_end, windows,
                                  wanted)
            stale = rollups.first_unrolled_hour(self.db, list(stored), start_ms, stored_end)
            # head samples older than the rolled-up hours (a series a little behind the
            # others, or out of order): not in any chunk yet, so no bucket holds them
            for sid in stored:
                span = self.head.by_id[sid].head_span()
                if span is not None and span[0] <= stored_end:
                    hour = max(start_ms, span[0] - span[0] % rollups.HOUR_MS)
                    stale[sid] = min(stale.get(sid, hour), hour)
            # raw samples older than a series' first bucket: it was too sparse at this
            # resolution then, so its raw samples (all still there) answer instead
            first_raw = rollups.starts(self.db, list(stored), None)
            first_bucket = rollups.starts(self.db, list(stored), resolution_ms)
            for sid, t in first_raw.items():
                if t < first_bucket.get(sid, t) and t <= end_ms:
                    del stored[sid]
                    stale.pop(sid, None)
        # Raw samples fill in what stored blocks do not hold: a series without blocks
        # at this resolution (too sparse to be worth it) over the whole range; the
        # others after the last finished hour, or from the first hour whose raw data
        # changed since its rollups were built (a late sample, a deletion)
        tail_from = {i: max(start_ms, done_through) for i in stored}
        for sid, day in stale.items():
            stored[sid] = rollups.clip(stored[sid], day - 1)
            tail_from[sid] = max(start_ms, day)
        tail_from.update((i, start_ms) for i in ids if i not in tail_from)
        fresh = {}
        for since in sorted(set(tail_from.values())):
            if since <= end_ms:
                group = [i for i in ids if tail_from[i] == since]
                fresh.update((d.labels, d) for d in self._read(group, since, end_ms))
        tails = dict(
            zip(
                fresh,
                rollups.aggregate_many(
                    [(d.timestamps, d.values) for d in fresh.values()], resolution_ms,
                    [rollups.COLUMNS[i] for i in wanted],
                ),
                strict=True,
            )
        )
        found, parts = [], []
        for sid in ids:
            labels = self.head.by_id[sid].labels
            views = stored.get(sid, [])
            tail = tails.get(labels)
            if views or (tail is not None and tail[0].size):
                found.append(labels)
                parts.append((views, tail))
        return found, parts

    def series(
        self, matchers: Sequence[Matcher], start_ms: int | None = None, end_ms: int | None = None
    ) -> list[Labels]:
        ids = self._ids(matchers, start_ms, end_ms)
        return [self.head.by_id[i].labels for i in ids]

    def label_names(
        self,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        if not matchers and start_ms is None and end_ms is None:
            with self._lock:
                return self.index.label_names()
        ids = self._ids(matchers, start_ms, end_ms)
        with self._lock:
            return self.index.label_names(ids)

    def label_values(
        self,
        name: str,
        matchers: Sequence[Matcher] = (),
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[str]:
        if not matchers and start_ms is None and end_ms is None:
            with self._lock:
                return self.index.label_values(name)
        ids = self._ids(matchers, start_ms, end_ms)
        with self._lock:
            return self.index.label_values(name, ids)

    # --------------------------------------------------------------- stats and health
    def stats(self) -> dict[str, Any]:
        with self._lock:
            totals = self.db.totals()
            disk = sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
            samples = totals["samples"] + self.head.samples
            per_metric: dict[str, int] = {}
            for labels in self.head.by_labels:
                name = labels.metric_name
                per_metric[name] = per_metric.get(name, 0) + 1
            top = sorted(per_metric.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
            heads = [s for s in self.head.by_id.values() if s.head_len()]
            starts = [s.head_span()[0] for s in heads]  # type: ignore[index]
            if totals["min_t"] is not None:
                starts.append(totals["min_t"])
            min_t = min(starts, default=None)
            return {
                "series": len(self.head.by_id),
                "samples": samples,
                "head_samples": self.head.samples,
                "chunks": totals["chunks"],
                "chunk_bytes": totals["chunk_bytes"],
                "rollup_blocks": totals["rollup_blocks"],
                "rollup_bytes": totals["rollup_bytes"],
                "bytes_on_disk": disk,
                "bytes_per_sample": (disk / samples) if samples else None,
                "min_time_ms": min_t,
                "max_time_ms": None if self.head.max_t == NO_TIME else self.head.max_t,
                "rejected": dict(self.head.rejected),
                "top_metrics": dict(top),
                "recovered": str(self.recovery) if self.recovery.records else None,
            }

    def health(self) -> Health:
        reasons = list(self._problems.values())
        foreign = datadir.foreign_files(self.root)
        if foreign:
            reasons.append(f"foreign files in {self.root}: {', '.join(foreign[:10])}")
        try:
            with self._lock:
                self.db.conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
        except Exception as e:
            reasons.append(f"database unusable: {e}")
        return Health("degraded" if reasons else "ok", reasons)


def _ms(t: int) -> int:
    """A time as a Python int. Why: SQLite binds a numpy integer as an 8-byte blob, which
    compares greater than every number, so such a bound found nothing."""
    return int(t)
