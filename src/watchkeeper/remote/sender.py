"""Send one endpoint's queue: batches, retries as the remote-write spec says, metrics.

5xx answers and connection errors are resent with exponential backoff (jittered, up to
``max_backoff``) until they succeed: a sink that is down only delays. 4xx answers are never
resent (the data is wrong for that sink) except 429 when ``retry_on_http_429`` is set,
honouring ``Retry-After``. A batch is acknowledged (the queue's position persisted) once it
is delivered or definitively refused, so a restart never resends what the sink took.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from watchkeeper.config.models import RemoteWriteConfig
from watchkeeper.config.secrets import redact_urls
from watchkeeper.scrape.relabel import relabel

from .client import Client
from .encode import (
    encode_labels,
    encode_one_each,
    encode_request,
    series_header,
    snappy,
    varint_size,
)
from .loop import QueueSender
from .metrics import RemoteMetrics
from .queue import Batch, QueueLog

log = logging.getLogger("watchkeeper.remote")

_DROPPED = b""  # a series write relabelling dropped
RESHARD_EVERY = 5.0  # seconds between shard decisions
RESHARD_TARGET = 10.0  # seconds a backlog should take to clear


class Sender(QueueSender):
    """One ``remote_write`` entry: its queue log, its shards and their connections."""

    def __init__(self, cfg: RemoteWriteConfig, directory: Path, log_: QueueLog,
                 metrics: RemoteMetrics, remote_name: str) -> None:
        super().__init__(cfg, log_, remote_name, log)
        self.dir = directory
        self.metrics = metrics
        self.labels = (remote_name, redact_urls(cfg.url))  # the url label: credentials hidden
        self._blocks: dict[int, bytes] = {}
        self._headers: dict[int, bytes] = {}
        self._ts_size = -1
        self.clients: list[Client] = []  # one per shard
        self.shards = cfg.queue_config.min_shards
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._rate_since = time.monotonic()
        self._settled_then = self._written_then = 0
        self._busy = 0.0  # seconds spent sending since the last shard decision
        self.highest_sent_ts = 0
        metrics.shards.labels(*self.labels).set(self.shards)

    def stop(self, timeout: float = 1.0) -> None:
        super().stop(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        for c in self.clients:
            c.close()

    def _read_size(self) -> int:
        return self.cfg.queue_config.max_samples_per_send * self.shards

    def _after_batch(self, seconds: float) -> None:
        self._busy += seconds
        self._reshard()
        if len(self._blocks) > 2 * len(self.queue.labels) + 1024:  # once the reader moved on
            self._forget_gone()

    # -- one batch -----------------------------------------------------------------------
    def _block(self, sid: int) -> bytes:
        block = self._blocks.get(sid)
        if block is None:
            if len(self._blocks) > 2 * len(self.queue.labels) + 1024:
                self._forget_gone()
            labels = self.queue.labels.get(sid)
            kept = relabel(dict(labels), self.cfg.write_relabel_configs) if labels else None
            block = encode_labels(kept.items()) if kept and kept.get("__name__") else _DROPPED
            self._blocks[sid] = block
        return block

    def _forget(self, ids: set[int]) -> None:
        for sid in ids:
            self._blocks.pop(sid, None)
            self._headers.pop(sid, None)

    def _forget_gone(self) -> None:
        """Keep the caches to the series the queue still knows (stopped series leave)."""
        live = self.queue.labels
        self._blocks = {k: v for k, v in self._blocks.items() if k in live}
        self._headers = {k: v for k, v in self._headers.items() if k in live}

    def _heads(self, ids: list[int], ts_size: int) -> list[bytes]:
        """Each sample's series header for ``ts_size``-byte timestamps (its label block when
        0), empty for a series write relabelling drops."""
        if ts_size != self._ts_size:
            self._headers, self._ts_size = {}, ts_size
        cache, out = self._headers, []
        for sid in ids:
            head = cache.get(sid)
            if head is None:
                block = self._block(sid)
                head = series_header(block, ts_size) if block and ts_size else block
                cache[sid] = head
            out.append(head)
        return out

    def _deliver(self, batch: Batch) -> bool:
        """Send ``batch`` until it is delivered or refused; False only when stopping.

        Each series goes to one shard (its id modulo the shards), and a shard sends its
        requests one after another, so every series keeps its order; shards send at once.
        Every request is encoded here first, in this one thread: the shards' threads only
        post. Encoding holds the GIL, and fifty shards encoding at once (a backlog grows
        them) left the event loop's scrapes waiting for it for seconds.
        """
        ts_size = varint_size(batch.ts)
        heads = self._heads(batch.ids.tolist(), ts_size)
        kept = np.fromiter(map(bool, heads), dtype=bool, count=len(heads))
        idx_all = np.flatnonzero(kept)
        dropped = len(batch) - idx_all.size
        if dropped:
            self._drop(dropped)
        shards, per = self.shards, self.cfg.queue_config.max_samples_per_send
        shard_of = batch.ids[idx_all] % shards
        work = []
        for k in range(shards):
            idx = idx_all[shard_of == k] if shards > 1 else idx_all
            if idx.size:
                work.append((k, [_request(idx[i:i + per], batch, heads, ts_size)
                                 for i in range(0, idx.size, per)]))

        def send(w: tuple[int, list[tuple[bytes, int, int]]]) -> bool:
            return self._send_shard(*w)

        return all(map(send, work)) if len(work) <= 1 else all(self._pool().map(send, work))

    def _send_shard(self, shard: int, requests: list[tuple[bytes, int, int]]) -> bool:
        """Post a shard's requests (body, samples, newest timestamp) in order."""
        client = self._client(shard)
        for body, count, highest in requests:
            if not self._send_with_backoff(client, body, count):
                return False
            with self._lock:
                if highest > self.highest_sent_ts:
                    self.highest_sent_ts = highest
                    self.metrics.highest_sent.labels(*self.labels).set(highest / 1000)
        return True

    def _client(self, shard: int) -> Client:
        while len(self.clients) <= shard:
            self.clients.append(Client(self.cfg))
        return self.clients[shard]

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.cfg.queue_config.max_shards,
                                                thread_name_prefix=f"remote-shard-{self.name}")
        return self._executor

    def _reshard(self) -> None:
        """Every few seconds, as Prometheus: enough shards to keep up with what arrives and
        to clear the backlog within ``RESHARD_TARGET`` seconds, between min and max."""
        now = time.monotonic()
        elapsed = now - self._rate_since
        if elapsed < RESHARD_EVERY:
            return
        q = self.cfg.queue_config
        delivered = self.settled - self._settled_then
        incoming = (self.queue.written_samples - self._written_then) / elapsed
        busy, self._busy = self._busy, 0.0
        self._rate_since, self._settled_then = now, self.settled
        self._written_then = self.queue.written_samples
        if delivered <= 0 or busy <= 0:  # idle, or a sink that is down: shards won't help
            return
        per_shard = delivered / busy / self.shards  # samples/s one shard sends while busy
        wanted = (incoming + self.pending / RESHARD_TARGET) / per_shard
        desired = max(q.min_shards, min(q.max_shards, math.ceil(wanted)))
        if abs(desired - self.shards) > max(1, self.shards * 0.3) or (
                desired < self.shards and self.pending < q.max_samples_per_send):
            log.info("remote write %s: resharding from %d to %d", self.name, self.shards,
                     desired)
            self.shards = desired
            self.metrics.shards.labels(*self.labels).set(desired)

    # -- counted in Prometheus's metrics -------------------------------------------------
    def _on_attempt(self, count: int, size: int) -> None:
        self.metrics.samples.labels(*self.labels).inc(count)
        self.metrics.bytes.labels(*self.labels).inc(size)

    def _on_success(self, count: int, answer: bytes, seconds: float) -> None:
        self.metrics.duration.labels(*self.labels).observe(seconds)

    def _on_refused(self, count: int) -> None:
        self.metrics.failed.labels(*self.labels).inc(count)

    def _on_retry(self, count: int, seconds: float) -> None:
        self.metrics.duration.labels(*self.labels).observe(seconds)
        self.metrics.retried.labels(*self.labels).inc(count)

    def _on_dropped(self, count: int) -> None:
        self.metrics.dropped.labels(*self.labels).inc(count)


def _request(idx: np.ndarray, batch: Batch, heads: list[bytes], ts_size: int
             ) -> tuple[bytes, int, int]:
    """The snappy body of the samples at ``idx``, their count and newest timestamp."""
    return snappy(_body(idx, batch, heads, ts_size)), int(idx.size), int(batch.ts[idx].max())


def _body(idx: np.ndarray, batch: Batch, heads: list[bytes], ts_size: int) -> bytes:
    """The ``WriteRequest`` of the samples at ``idx``: one ``TimeSeries`` per sample (the
    fast path), or grouped by series when timestamps vary in varint size."""
    if ts_size:
        return encode_one_each([heads[i] for i in idx.tolist()], batch.ts[idx],
                               batch.vals[idx], ts_size)
    series: dict[bytes, tuple[list[int], list[float]]] = {}
    for i, t, v in zip(idx.tolist(), batch.ts[idx].tolist(), batch.vals[idx].tolist(),
                       strict=True):
        ts, vals = series.setdefault(heads[i], ([], []))
        ts.append(t)
        vals.append(v)
    return encode_request(series)
