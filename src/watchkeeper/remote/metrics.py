"""Remote-write metrics under Prometheus's names, so its dashboards and alerts apply."""

from __future__ import annotations

from typing import Any

from watchkeeper.metrics import CollectorRegistry, Counter, Gauge, Histogram

_LABELS = ("remote_name", "url")
_PREFIX = "prometheus_remote_storage_"


class RemoteMetrics:
    """One registry for every endpoint; ``collect`` serves it from the server's registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry

        def counter(name: str, doc: str) -> Counter:
            return Counter(_PREFIX + name, doc, _LABELS, registry=r)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = _LABELS) -> Gauge:
            return Gauge(_PREFIX + name, doc, labels, registry=r)

        self.samples = counter("samples_total", "Samples sent to remote storage (each attempt).")
        self.failed = counter("samples_failed_total",
                              "Samples refused by remote storage (not resent).")
        self.retried = counter("samples_retried_total",
                               "Samples resent after a recoverable error.")
        self.dropped = counter("samples_dropped_total",
                               "Samples dropped by write relabelling before sending.")
        self.bytes = counter("bytes_total", "Compressed bytes sent (each attempt).")
        self.metadata = counter("metadata_total", "Metadata entries sent (each attempt).")
        self.metadata_failed = counter("metadata_failed_total",
                                       "Metadata entries refused by remote storage.")
        self.metadata_retried = counter("metadata_retried_total",
                                        "Metadata entries resent after a recoverable error.")
        self.metadata_bytes = counter("metadata_bytes_total",
                                      "Compressed metadata bytes sent (each attempt).")
        self.pending = gauge("samples_pending", "Samples queued and not yet settled.")
        self.shards = gauge("shards", "Shards sending in parallel.")
        self.highest_sent = gauge("queue_highest_sent_timestamp_seconds",
                                  "Newest timestamp the remote storage acknowledged.")
        self.highest = gauge("highest_timestamp_in_seconds",
                             "Newest timestamp appended to the queues.", ())
        self.duration = Histogram(
            _PREFIX + "sent_batch_duration_seconds", "Duration of one send.", _LABELS,
            registry=r, buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 25, 60,
                                 120, 300))
        self.senders: list[Any] = []

    def collect(self) -> Any:
        highest = 0
        for s in self.senders:
            self.pending.labels(*s.labels).set(s.pending)
            highest = max(highest, s.queue.highest_ts)
        if highest:
            self.highest.set(highest / 1000)
        return self.registry.collect()
