"""What ``/api/v1/status/remote_write`` and the dashboard show of each endpoint the server
sends to: where its queue stands, what happened to its samples, and its last error.

Read from the senders' own tallies (not from the metrics registry), so the page is there in
agent mode and answers even while a sink is down. URLs and error messages go out with their
credentials (``user:password@``, query values) shown as ``<secret>``.
"""

from __future__ import annotations

from typing import Any

from watchkeeper.config.secrets import redact_urls
from watchkeeper.tsdb.wal import list_segments, segment_name


def _seconds(ms: int) -> float | None:
    return ms / 1000 if ms else None


def _backlog(queue: Any) -> dict[str, int]:
    """The queue's segments on disk: what waits there for the sink (and what it took
    of the segment being read, which goes once the reader moves past it)."""
    segments = list_segments(queue.dir)
    size = 0
    for seg in segments:
        try:
            size += (queue.dir / segment_name(seg)).stat().st_size
        except OSError:
            pass
    return {"segments": len(segments), "bytes": size}


def endpoint_status(sender: Any) -> dict[str, Any]:
    """One sender (remote write or OTLP out) as the status page shows it."""
    queue, q = sender.queue, sender.cfg.queue_config
    pos = queue.position
    error = sender.last_error
    highest_sent = getattr(sender, "highest_sent_ts", 0)
    highest_queued = queue.highest_ts
    return {
        "name": sender.name,
        "url": redact_urls(sender.cfg.url),
        "pendingSamples": sender.pending,
        "backlog": _backlog(queue),
        "acknowledged": {"segment": pos.segment, "offset": pos.offset,
                         "time": sender.last_acknowledged},
        "lastSuccess": sender.last_success,
        "highestQueuedTimestamp": _seconds(highest_queued),
        "highestSentTimestamp": _seconds(highest_sent),
        # how far the sink is behind what was queued (None before anything was sent)
        "behindSeconds": (max(0, highest_queued - highest_sent) / 1000
                          if highest_sent else None),
        "samples": {"sent": sender.sent, "failed": sender.failed,
                    "retried": sender.retried, "dropped": sender.dropped},
        "shards": {"current": getattr(sender, "shards", 1), "min": q.min_shards,
                   "max": q.max_shards},
        "queueErrors": queue.errors,
        "lastError": None if error is None else {"time": error[0], "message": error[1]},
    }


def status_document(remote: Any, otlp: Any) -> dict[str, Any]:
    """Every ``remote_write`` and ``otlp_export`` endpoint (empty lists when none)."""
    return {
        "remoteWrite": [endpoint_status(s) for s in (remote.senders if remote else [])],
        "otlpExport": [endpoint_status(s) for s in (otlp.senders if otlp else [])],
    }
