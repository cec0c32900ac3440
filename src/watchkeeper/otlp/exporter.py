"""OTLP/HTTP out: every sample the store accepts, to a backend that speaks OTLP only.

Each ``otlp_export`` entry has the same durable queue as a ``remote_write`` entry (a
segment log on disk with its acknowledged position, so a sink that is down or a ``kill -9``
loses nothing) and a thread that sends batches as ``ExportMetricsServiceRequest`` protobufs.
Retries are OTLP/HTTP's: 429, 502, 503 and 504 answers and connection errors are resent with
exponential backoff and jitter up to ``max_backoff``, honouring ``Retry-After``; any other
answer refuses the batch for good (counted, never resent). Points a 2xx answer reports as
rejected in ``partial_success`` are counted as failed.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from watchkeeper.config.models import OTLPExportConfig
from watchkeeper.config.secrets import redact_urls
from watchkeeper.metrics import CollectorRegistry, Counter, Gauge
from watchkeeper.remote.client import Client
from watchkeeper.remote.loop import QueueSender
from watchkeeper.remote.meta import MetadataSource
from watchkeeper.remote.queue import Batch, QueueLog
from watchkeeper.scrape.relabel import relabel

from .encode import encode_request

log = logging.getLogger("watchkeeper.otlp")
METADATA_EVERY = 60.0  # seconds between reads of the families' metadata
RETRYABLE = frozenset({429, 502, 503, 504})
MAX_READ = 1 << 20  # samples a batch may grow to, to end at a record's end


class ExportMetrics:
    """``watchkeeper_otlp_export_*``, labelled by the entry's ``name`` and ``url``."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        labels = ("name", "url")

        def counter(name: str, doc: str) -> Counter:
            return Counter(f"watchkeeper_otlp_export_{name}", doc, labels, registry=r)

        self.sent = counter("samples_total", "Samples sent over OTLP (each attempt).")
        self.failed = counter("samples_failed_total",
                              "Samples refused or rejected by the backend (not resent).")
        self.retried = counter("samples_retried_total",
                               "Samples resent after 429/502/503/504 or a connection error.")
        self.dropped = counter("samples_dropped_total",
                               "Samples dropped by write relabelling before sending.")
        self.pending = Gauge("watchkeeper_otlp_export_samples_pending",
                             "Samples queued and not yet settled.", labels, registry=r)
        self.exporters: list[OTLPSender] = []

    def collect(self) -> Any:
        for e in self.exporters:
            self.pending.labels(*e.labels).set(e.pending)
        return self.registry.collect()


def _name(cfg: OTLPExportConfig) -> str:
    return cfg.name or "otlp-" + hashlib.sha256(cfg.url.encode()).hexdigest()[:6]


def _rejected(body: bytes) -> tuple[int, str]:
    """``partial_success`` of an ``ExportMetricsServiceResponse`` (0 when absent or bad)."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceResponse,
    )

    try:
        ps = ExportMetricsServiceResponse.FromString(body).partial_success
    except Exception:  # an answer we cannot read still delivered the batch
        return 0, ""
    return int(ps.rejected_data_points), ps.error_message


class OTLPSender(QueueSender):
    """One ``otlp_export`` entry: its queue, its thread, its connection."""

    kind = "otlp export"

    def __init__(self, cfg: OTLPExportConfig, queue: QueueLog, metrics: ExportMetrics,
                 metadata_source: MetadataSource | None = None) -> None:
        super().__init__(cfg, queue, _name(cfg), log)
        self.metadata_source = metadata_source
        self._metadata: dict[str, tuple[str, str, str]] = {}
        self._metadata_at = -METADATA_EVERY
        self.metrics = metrics
        self.labels = (self.name, redact_urls(cfg.url))  # the url label: credentials hidden
        headers = {"Content-Type": "application/x-protobuf"}
        if cfg.compression == "gzip":
            headers["Content-Encoding"] = "gzip"
        self.client = Client(cfg, timeout=cfg.timeout, headers=headers,
                             retryable=RETRYABLE.__contains__, max_answer=1 << 20)
        self._kept: dict[int, dict[str, str] | None] = {}
        self._first_ms: dict[int, int] = {}

    def stop(self, timeout: float = 1.0) -> None:
        super().stop(timeout)
        self.client.close()

    def _forget(self, ids: set[int]) -> None:
        for sid in ids:
            self._kept.pop(sid, None)
            self._first_ms.pop(sid, None)

    def _forget_gone(self) -> None:
        """Keep the caches to the series the queue still knows (stopped series leave)."""
        live = self.queue.labels
        if len(self._kept) > 2 * len(live) + 1024:
            self._kept = {k: v for k, v in self._kept.items() if k in live}
            self._first_ms = {k: v for k, v in self._first_ms.items() if k in live}

    def _after_batch(self, seconds: float) -> None:
        self._forget_gone()

    def _read(self) -> Batch:
        """A batch that ends between two records: the series of one scrape (a histogram's
        buckets, count and sum) are sent in one request, so they make one point."""
        size = self._read_size()
        batch = self.queue.read(size)
        while batch.end.skip and len(batch) >= size and size < MAX_READ:
            size *= 4
            batch = self.queue.read(size)
        return batch

    def _labels(self, sid: int) -> dict[str, str] | None:
        if sid not in self._kept:
            self._forget_gone()
            labels = self.queue.labels.get(sid)
            kept = relabel(dict(labels), self.cfg.write_relabel_configs) if labels else None
            self._kept[sid] = kept if kept and kept.get("__name__") else None
        return self._kept[sid]

    def metadata(self) -> dict[str, tuple[str, str, str]]:
        """Each family's (type, help, unit), read again at most every ``METADATA_EVERY``."""
        now = time.monotonic()
        if self.metadata_source is not None and now - self._metadata_at >= METADATA_EVERY:
            self._metadata_at = now
            try:
                self._metadata = {name: (typ, help_text, unit)
                                  for name, typ, help_text, unit in self.metadata_source()}
            except Exception:
                log.exception("otlp export %s: cannot read the metric metadata", self.name)
        return self._metadata

    def _deliver(self, batch: Batch) -> bool:
        """Send ``batch`` until delivered or refused; False only when stopping."""
        series: dict[int, tuple[list[int], list[float]]] = {}
        dropped = 0
        for sid, t, v in zip(batch.ids.tolist(), batch.ts.tolist(), batch.vals.tolist(),
                             strict=True):
            if self._labels(sid) is None:
                dropped += 1
                continue
            ts, vals = series.setdefault(sid, ([], []))
            ts.append(t)
            vals.append(v)
            self._first_ms.setdefault(sid, t)
        if dropped:
            self._drop(dropped)
        count = len(batch) - dropped
        if count:
            body = encode_request(
                [(self._labels(sid), ts, vals, self._first_ms[sid])  # type: ignore[misc]
                 for sid, (ts, vals) in series.items()], self.cfg.resource_attributes,
                self.metadata())
            if self.cfg.compression == "gzip":
                body = gzip.compress(body, 6)
            if not self._send_with_backoff(self.client, body, count):
                return False
        return True

    # -- counted in watchkeeper_otlp_export_* ----------------------------------------------
    def _on_attempt(self, count: int, size: int) -> None:
        self.metrics.sent.labels(*self.labels).inc(count)

    def _on_success(self, count: int, answer: bytes, seconds: float) -> None:
        rejected, message = _rejected(answer)
        if rejected:
            rejected = min(rejected, count)
            self.failed += rejected
            self._error(f"{rejected} points rejected: {message}")
            self.metrics.failed.labels(*self.labels).inc(rejected)
            log.warning("otlp export %s: %d points rejected: %s", self.name, rejected,
                        message[:200])

    def _on_refused(self, count: int) -> None:
        self.metrics.failed.labels(*self.labels).inc(count)

    def _on_retry(self, count: int, seconds: float) -> None:
        self.metrics.retried.labels(*self.labels).inc(count)

    def _on_dropped(self, count: int) -> None:
        self.metrics.dropped.labels(*self.labels).inc(count)


class OTLPExport:
    """The OTLP side of one store: queues in ``directory/NAME``, one sender each."""

    def __init__(self, store: Any, configs: Sequence[OTLPExportConfig],
                 directory: Path, metadata_source: MetadataSource | None = None) -> None:
        self.store = store
        self.metrics = ExportMetrics()
        by_id = store.head.by_id

        def labels_of(sid: int) -> Any:
            s = by_id.get(sid)
            return None if s is None else s.labels

        self.senders = [OTLPSender(cfg, QueueLog(Path(directory) / _name(cfg), labels_of),
                                   self.metrics, metadata_source) for cfg in configs]
        self.metrics.exporters = self.senders

    def start(self) -> None:
        for s in self.senders:
            self.store.taps.append(s.queue.tap)
            s.start()
            log.info("otlp export %s to %s: resuming at %s", s.name, s.cfg.url,
                     s.queue.position)

    def stop(self) -> None:
        for s in self.senders:
            if s.queue.tap in self.store.taps:
                self.store.taps.remove(s.queue.tap)
            s.stop()
            s.queue.close()

    def collect(self) -> Any:
        return self.metrics.collect()
