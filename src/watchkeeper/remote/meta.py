"""Metric metadata (type, help, unit per family) sent to one endpoint every
``metadata_config.send_interval``, in requests of its own, as Prometheus sends it.

Receivers use it for type hints (Grafana's query editor, VictoriaMetrics' and Mimir's
metadata APIs). Its own thread and connection: a slow sink never delays the samples.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable

from watchkeeper.config.models import RemoteWriteConfig

from .client import Client, Refused, Retry
from .encode import encode_metadata, snappy
from .metrics import RemoteMetrics

log = logging.getLogger("watchkeeper.remote")

MetadataSource = Callable[[], Iterable[tuple[str, str, str, str]]]


class MetadataSender:
    def __init__(self, cfg: RemoteWriteConfig, source: MetadataSource, metrics: RemoteMetrics,
                 labels: tuple[str, str], name: str) -> None:
        self.cfg = cfg
        self.source = source
        self.metrics = metrics
        self.labels = labels
        self.name = name
        self.client = Client(cfg)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"remote-metadata-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.client.close()

    def _run(self) -> None:
        interval = self.cfg.metadata_config.send_interval
        while not self._stop.wait(interval):
            try:
                self.send_once()
            except Exception:
                log.exception("remote write %s: sending metadata failed", self.name)

    def send_once(self) -> int:
        """Send every family's metadata now; the number of entries delivered."""
        items = sorted({name: (name, *rest) for name, *rest in self.source()}.values())
        per = self.cfg.metadata_config.max_samples_per_send
        sent = 0
        for i in range(0, len(items), per):
            chunk = items[i:i + per]
            if not self._deliver(snappy(encode_metadata(chunk)), len(chunk)):
                break
            sent += len(chunk)
        return sent

    def _deliver(self, body: bytes, count: int) -> bool:
        """With backoff, until delivered, refused, stopping or the next round is due."""
        q, m = self.cfg.queue_config, self.metrics
        backoff, waited = q.min_backoff, 0.0
        while True:
            m.metadata.labels(*self.labels).inc(count)
            m.metadata_bytes.labels(*self.labels).inc(len(body))
            try:
                self.client.post(body)
                return True
            except Refused as e:
                m.metadata_failed.labels(*self.labels).inc(count)
                log.error("remote write %s: metadata refused: %s", self.name, e)
                return False
            except Retry as e:
                m.metadata_retried.labels(*self.labels).inc(count)
                delay = e.delay if e.delay is not None else backoff * random.uniform(0.5, 1.0)
                backoff = min(backoff * 2, q.max_backoff)
            waited += delay
            if waited > self.cfg.metadata_config.send_interval or self._stop.wait(delay):
                return False
