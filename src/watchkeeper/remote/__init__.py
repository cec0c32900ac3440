"""Remote write out: every sample the store accepts, shipped to Prometheus-compatible
long-term stores (VictoriaMetrics, Prometheus, Mimir, Thanos) with nothing lost.

``RemoteWrite`` owns one durable queue and one sender per ``remote_write`` entry; it taps the
store's commits only when at least one entry is configured.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from watchkeeper.config.models import RemoteWriteConfig

from .meta import MetadataSender, MetadataSource
from .metrics import RemoteMetrics
from .queue import QueueLog
from .sender import Sender

log = logging.getLogger("watchkeeper.remote")


def remote_name(cfg: RemoteWriteConfig) -> str:
    """The entry's name, or (as Prometheus) a short hash of its URL."""
    return cfg.name or hashlib.sha256(cfg.url.encode()).hexdigest()[:6]


class RemoteWrite:
    """The remote-write side of one store: queues in ``directory/NAME``, one sender each."""

    def __init__(self, store: Any, configs: Sequence[RemoteWriteConfig],
                 directory: Path, metadata_source: MetadataSource | None = None,
                 metrics: RemoteMetrics | None = None) -> None:
        self.store = store
        self.directory = Path(directory)
        self.metadata_source = metadata_source
        self.metrics = metrics or RemoteMetrics()  # kept across reloads
        self.senders: list[Sender] = []
        self.metadata: list[MetadataSender] = []
        by_id = store.head.by_id

        def labels_of(sid: int) -> Any:
            s = by_id.get(sid)
            return None if s is None else s.labels

        for cfg in configs:
            name = remote_name(cfg)
            path = Path(directory) / name
            queue = QueueLog(path, labels_of)
            sender = Sender(cfg, path, queue, self.metrics, name)
            self.senders.append(sender)
            if metadata_source is not None and cfg.metadata_config.send:
                self.metadata.append(MetadataSender(cfg, metadata_source, self.metrics,
                                                    sender.labels, name))
        self.metrics.senders = self.senders

    def start(self) -> None:
        for s in self.senders:
            self.store.taps.append(s.queue.tap)
        self.start_sending()

    def start_sending(self) -> None:
        for s in self.senders:
            s.start()
            log.info("remote write %s to %s: resuming at %s", s.name, s.cfg.url,
                     s.queue.position)
        for m in self.metadata:
            m.start()

    def stop(self) -> None:
        self.stop_sending()
        self.detach()

    def stop_sending(self) -> None:
        for m in self.metadata:
            m.stop()
        for s in self.senders:
            s.stop()

    def detach(self) -> None:
        """Stop queueing (under the store's lock when others follow: none missed)."""
        for s in self.senders:
            if s.queue.tap in self.store.taps:
                self.store.taps.remove(s.queue.tap)
            s.queue.close()

    def replace(self, configs: Sequence[RemoteWriteConfig]) -> RemoteWrite:
        """A reload: the same directories under new settings. Every queue resumes from its
        acknowledged position and the store's lock is held while the taps change hands,
        so no sample is missed (entries dropped from the config keep their queue on disk,
        and resume if they come back)."""
        self.stop_sending()
        with self.store._lock:
            self.detach()
            new = RemoteWrite(self.store, configs, self.directory, self.metadata_source,
                              self.metrics)
            for s in new.senders:
                self.store.taps.append(s.queue.tap)
        new.start_sending()
        return new

    def collect(self) -> Any:
        return self.metrics.collect()


__all__ = ["RemoteWrite", "remote_name"]
