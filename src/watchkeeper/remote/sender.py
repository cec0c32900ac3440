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
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from watchkeeper.config.models import RemoteWriteConfig
from watchkeeper.scrape.relabel import relabel

from .client import Client, Refused, Retry
from .encode import (
    encode_labels,
    encode_one_each,
    encode_request,
    series_header,
    snappy,
    varint_size,
)
from .metrics import RemoteMetrics
from .queue import Batch, QueueLog

log = logging.getLogger("watchkeeper.remote")

_DROPPED = b""  # a series write relabelling dropped
RESHARD_EVERY = 5.0  # seconds between shard decisions
RESHARD_TARGET = 10.0  # seconds a backlog should take to clear


class Sender:
    """One ``remote_write`` entry: its queue log, its thread and its connection."""

    def __init__(self, cfg: RemoteWriteConfig, directory: Path, log_: QueueLog,
                 metrics: RemoteMetrics, remote_name: str) -> None:
        self.cfg = cfg
        self.dir = directory
        self.queue = log_
        self.metrics = metrics
        self.name = remote_name
        self.labels = (remote_name, cfg.url)
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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.settled = 0  # samples delivered, refused or dropped since start
        self.highest_sent_ts = 0
        metrics.shards.labels(*self.labels).set(self.shards)

    # -- life ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"remote-write-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        for c in self.clients:
            c.close()

    @property
    def pending(self) -> int:
        return max(0, self.queue.written_samples - self.settled)

    def _run(self) -> None:
        q = self.cfg.queue_config
        first_seen: float | None = None
        while not self._stop.is_set():
            try:
                batch = self.queue.read(q.max_samples_per_send * self.shards)
            except Exception:
                log.exception("remote write %s: cannot read the queue", self.name)
                self._stop.wait(1.0)
                continue
            if batch.end == self.queue.position:  # nothing new
                first_seen = None
                self._stop.wait(0.05)
                continue
            now = time.monotonic()
            first_seen = first_seen or now
            if len(batch) < q.max_samples_per_send and now - first_seen < q.batch_send_deadline:
                self._stop.wait(min(0.05, q.batch_send_deadline))
                continue
            first_seen = None
            began = time.monotonic()
            if self._deliver(batch):
                self.queue.acknowledge(batch.end)
            self._busy += time.monotonic() - began
            self._reshard()

    # -- one batch -----------------------------------------------------------------------
    def _block(self, sid: int) -> bytes:
        block = self._blocks.get(sid)
        if block is None:
            labels = self.queue.labels.get(sid)
            kept = relabel(dict(labels), self.cfg.write_relabel_configs) if labels else None
            block = encode_labels(kept.items()) if kept and kept.get("__name__") else _DROPPED
            self._blocks[sid] = block
        return block

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
        """
        ts_size = varint_size(batch.ts)
        heads = self._heads(batch.ids.tolist(), ts_size)
        kept = np.fromiter(map(bool, heads), dtype=bool, count=len(heads))
        idx_all = np.flatnonzero(kept)
        dropped = len(batch) - idx_all.size
        if dropped:
            self.metrics.dropped.labels(*self.labels).inc(dropped)
        shards, per = self.shards, self.cfg.queue_config.max_samples_per_send
        shard_of = batch.ids[idx_all] % shards
        work = []
        for k in range(shards):
            idx = idx_all[shard_of == k] if shards > 1 else idx_all
            if idx.size:
                work.append((k, [idx[i:i + per] for i in range(0, idx.size, per)]))
        def send(w: tuple[int, list[np.ndarray]]) -> bool:
            return self._send_shard(w[0], w[1], batch, heads, ts_size)

        ok = all(map(send, work)) if len(work) <= 1 else all(self._pool().map(send, work))
        if ok:
            self.settled += len(batch)
        return ok

    def _send_shard(self, shard: int, chunks: list[np.ndarray], batch: Batch,
                    heads: list[bytes], ts_size: int) -> bool:
        client = self._client(shard)
        for idx in chunks:
            body = snappy(_body(idx, batch, heads, ts_size))
            if not self._send_with_backoff(client, body, int(idx.size)):
                return False
            highest = int(batch.ts[idx].max())
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

    def _send_with_backoff(self, client: Client, body: bytes, count: int) -> bool:
        q, m, labels = self.cfg.queue_config, self.metrics, self.labels
        backoff = q.min_backoff
        while True:
            m.samples.labels(*labels).inc(count)
            m.bytes.labels(*labels).inc(len(body))
            start = time.monotonic()
            try:
                client.post(body)
                m.duration.labels(*labels).observe(time.monotonic() - start)
                return True
            except Refused as e:
                m.failed.labels(*labels).inc(count)
                log.error("remote write %s: %d samples refused, not resent: %s",
                          self.name, count, e)
                return True
            except Retry as e:
                m.duration.labels(*labels).observe(time.monotonic() - start)
                m.retried.labels(*labels).inc(count)
                delay = e.delay if e.delay is not None else backoff * random.uniform(0.5, 1.0)
                log.warning("remote write %s: %s; retrying in %.2fs", self.name, e, delay)
                backoff = min(backoff * 2, q.max_backoff)
            if self._stop.wait(delay):
                return False


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
