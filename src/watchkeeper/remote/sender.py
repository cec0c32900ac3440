"""Send one endpoint's queue: batches, retries as the remote-write spec says, metrics.

5xx answers and connection errors are resent with exponential backoff (jittered, up to
``max_backoff``) until they succeed: a sink that is down only delays. 4xx answers are never
resent (the data is wrong for that sink) except 429 when ``retry_on_http_429`` is set,
honouring ``Retry-After``. A batch is acknowledged (the queue's position persisted) once it
is delivered or definitively refused, so a restart never resends what the sink took.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path

from watchkeeper.config.models import RemoteWriteConfig
from watchkeeper.scrape.relabel import relabel

from .client import Client, Refused, Retry
from .encode import encode_labels, encode_request, snappy
from .metrics import RemoteMetrics
from .queue import Batch, QueueLog

log = logging.getLogger("watchkeeper.remote")

_DROPPED = b""  # a series write relabelling dropped


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
        self.client = Client(cfg)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.settled = 0  # samples delivered, refused or dropped since start
        self.highest_sent_ts = 0
        metrics.shards.labels(*self.labels).set(1)

    # -- life ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"remote-write-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.client.close()

    @property
    def pending(self) -> int:
        return max(0, self.queue.written_samples - self.settled)

    def _run(self) -> None:
        q = self.cfg.queue_config
        first_seen: float | None = None
        while not self._stop.is_set():
            try:
                batch = self.queue.read(q.max_samples_per_send)
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
            if self._deliver(batch):
                self.queue.acknowledge(batch.end)

    # -- one batch -----------------------------------------------------------------------
    def _block(self, sid: int) -> bytes:
        block = self._blocks.get(sid)
        if block is None:
            labels = self.queue.labels.get(sid)
            kept = relabel(dict(labels), self.cfg.write_relabel_configs) if labels else None
            block = encode_labels(kept.items()) if kept and kept.get("__name__") else _DROPPED
            self._blocks[sid] = block
        return block

    def _deliver(self, batch: Batch) -> bool:
        """Send ``batch`` until it is delivered or refused; False only when stopping."""
        series: dict[bytes, tuple[list[int], list[float]]] = {}
        dropped = 0
        for sid, t, v in zip(batch.ids, batch.ts, batch.vals, strict=True):
            block = self._block(sid)
            if not block:
                dropped += 1
                continue
            ts, vals = series.setdefault(block, ([], []))
            ts.append(t)
            vals.append(v)
        m, labels = self.metrics, self.labels
        if dropped:
            m.dropped.labels(*labels).inc(dropped)
        count = len(batch) - dropped
        if count:
            body = snappy(encode_request(series))
            highest = max(t for ts, _ in series.values() for t in ts)
            if not self._send_with_backoff(body, count):
                return False
            self.highest_sent_ts = max(self.highest_sent_ts, highest)
            m.highest_sent.labels(*labels).set(self.highest_sent_ts / 1000)
        self.settled += len(batch)
        return True

    def _send_with_backoff(self, body: bytes, count: int) -> bool:
        q, m, labels = self.cfg.queue_config, self.metrics, self.labels
        backoff = q.min_backoff
        while True:
            m.samples.labels(*labels).inc(count)
            m.bytes.labels(*labels).inc(len(body))
            start = time.monotonic()
            try:
                self.client.post(body)
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
