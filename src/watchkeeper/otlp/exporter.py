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

import base64
import gzip
import hashlib
import http.client
import logging
import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.config.models import OTLPExportConfig
from watchkeeper.metrics import CollectorRegistry, Counter, Gauge
from watchkeeper.remote.client import _HTTPS, _retry_after, tls_context, user_agent
from watchkeeper.remote.client import _secret_or_file as _secret
from watchkeeper.remote.queue import Batch, QueueLog
from watchkeeper.scrape.relabel import relabel

from .encode import encode_request

log = logging.getLogger("watchkeeper.otlp")
RETRYABLE = frozenset({429, 502, 503, 504})


class Refused(Exception):
    """The backend refused the batch for good."""


class Retry(Exception):
    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


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


class OTLPSender:
    """One ``otlp_export`` entry: its queue, its thread, its connection."""

    def __init__(self, cfg: OTLPExportConfig, queue: QueueLog, metrics: ExportMetrics) -> None:
        self.cfg = cfg
        self.name = _name(cfg)
        self.queue = queue
        self.metrics = metrics
        self.labels = (self.name, cfg.url)
        self.url = urlsplit(cfg.url)
        self.settled = 0
        self._kept: dict[int, dict[str, str] | None] = {}
        self._first_ms: dict[int, int] = {}
        self._conn: http.client.HTTPConnection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        return max(0, self.queue.written_samples - self.settled)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"otlp-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()

    def _run(self) -> None:
        q = self.cfg.queue_config
        first_seen: float | None = None
        while not self._stop.is_set():
            try:
                batch = self.queue.read(q.max_samples_per_send)
            except Exception:
                log.exception("otlp export %s: cannot read the queue", self.name)
                self._stop.wait(1.0)
                continue
            if batch.end == self.queue.position:
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

    def _labels(self, sid: int) -> dict[str, str] | None:
        if sid not in self._kept:
            labels = self.queue.labels.get(sid)
            kept = relabel(dict(labels), self.cfg.write_relabel_configs) if labels else None
            self._kept[sid] = kept if kept and kept.get("__name__") else None
        return self._kept[sid]

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
            self.metrics.dropped.labels(*self.labels).inc(dropped)
        count = len(batch) - dropped
        if count:
            body = encode_request(
                [(self._labels(sid), ts, vals, self._first_ms[sid])  # type: ignore[misc]
                 for sid, (ts, vals) in series.items()], self.cfg.resource_attributes)
            if self.cfg.compression == "gzip":
                body = gzip.compress(body, 6)
            if not self._send_with_backoff(body, count):
                return False
        self.settled += len(batch)
        return True

    def _send_with_backoff(self, body: bytes, count: int) -> bool:
        q, m = self.cfg.queue_config, self.metrics
        backoff = q.min_backoff
        while True:
            m.sent.labels(*self.labels).inc(count)
            try:
                rejected, message = self._post(body)
                if rejected:
                    m.failed.labels(*self.labels).inc(min(rejected, count))
                    log.warning("otlp export %s: %d points rejected: %s", self.name,
                                rejected, message[:200])
                return True
            except Refused as e:
                m.failed.labels(*self.labels).inc(count)
                log.error("otlp export %s: %d samples refused, not resent: %s",
                          self.name, count, e)
                return True
            except Retry as e:
                m.retried.labels(*self.labels).inc(count)
                delay = e.delay if e.delay is not None else backoff * random.uniform(0.5, 1.0)
                log.warning("otlp export %s: %s; retrying in %.2fs", self.name, e, delay)
                backoff = min(backoff * 2, q.max_backoff)
            if self._stop.wait(delay):
                return False

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            host, port, timeout = self.url.hostname or "", self.url.port, self.cfg.timeout
            if self.url.scheme == "https":  # tls_config as for remote_write
                self._conn = _HTTPS(host, port, timeout=timeout, context=tls_context(self.cfg),
                                    server_name=self.cfg.tls_config.server_name or host)
            else:
                self._conn = http.client.HTTPConnection(host, port, timeout=timeout)
        return self._conn

    def headers(self) -> dict[str, str]:
        cfg = self.cfg
        out = {**cfg.headers, "Content-Type": "application/x-protobuf",
               "User-Agent": user_agent()}
        if cfg.compression == "gzip":
            out["Content-Encoding"] = "gzip"
        if cfg.basic_auth is not None:
            password = _secret(cfg.basic_auth.password, cfg.basic_auth.password_file)
            token = base64.b64encode(f"{cfg.basic_auth.username}:{password}".encode()).decode()
            out["Authorization"] = f"Basic {token}"
        elif cfg.authorization is not None:
            auth = cfg.authorization
            out["Authorization"] = f"{auth.type} {_secret(auth.credentials, auth.credentials_file)}"
        return out

    def _post(self, body: bytes) -> tuple[int, str]:
        path = (self.url.path or "/") + (f"?{self.url.query}" if self.url.query else "")
        try:
            conn = self._connection()
            conn.request("POST", path, body=body, headers=self.headers())
            resp = conn.getresponse()
            answer = resp.read(1 << 20)
            if resp.will_close:
                conn.close()
                self._conn = None
        except (OSError, http.client.HTTPException) as e:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            raise Retry(f"connection error: {e}") from None
        if 200 <= resp.status < 300:
            return _rejected(answer)
        reason = f"HTTP {resp.status}: {answer[:200].decode('utf-8', 'replace').strip()}"
        if resp.status in RETRYABLE:
            raise Retry(reason, _retry_after(resp.getheader("Retry-After")))
        raise Refused(reason)


class OTLPExport:
    """The OTLP side of one store: queues in ``directory/NAME``, one sender each."""

    def __init__(self, store: Any, configs: Sequence[OTLPExportConfig],
                 directory: Path) -> None:
        self.store = store
        self.metrics = ExportMetrics()
        by_id = store.head.by_id

        def labels_of(sid: int) -> Any:
            s = by_id.get(sid)
            return None if s is None else s.labels

        self.senders = [OTLPSender(cfg, QueueLog(Path(directory) / _name(cfg), labels_of),
                                   self.metrics) for cfg in configs]
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
