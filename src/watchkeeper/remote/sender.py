"""Send one endpoint's queue: batches, retries as the remote-write spec says, metrics.

5xx answers and connection errors are resent with exponential backoff (jittered, up to
``max_backoff``) until they succeed: a sink that is down only delays. 4xx answers are never
resent (the data is wrong for that sink) except 429 when ``retry_on_http_429`` is set,
honouring ``Retry-After``. A batch is acknowledged (the queue's position persisted) once it
is delivered or definitively refused, so a restart never resends what the sink took.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import logging
import random
import ssl
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from watchkeeper.config.models import RemoteWriteConfig
from watchkeeper.scrape.relabel import relabel

from .encode import encode_labels, encode_request, snappy
from .metrics import RemoteMetrics
from .queue import Batch, QueueLog

log = logging.getLogger("watchkeeper.remote")

USER_AGENT = "watchkeeper-remote-write"
_DROPPED = b""  # a series write relabelling dropped


class Refused(Exception):
    """The sink refused the batch for good (a 4xx)."""


class Retry(Exception):
    """Send again after ``delay`` seconds (None: the backoff decides)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class Sender:
    """One ``remote_write`` entry: its queue log, its thread and its connection."""

    def __init__(self, cfg: RemoteWriteConfig, directory: Path, log_: QueueLog,
                 metrics: RemoteMetrics, remote_name: str) -> None:
        self.cfg = cfg
        self.dir = directory
        self.queue = log_
        self.metrics = metrics
        self.name = remote_name
        self.url = urlsplit(cfg.url)
        self.labels = (remote_name, cfg.url)
        self._blocks: dict[int, bytes] = {}
        self._conn: http.client.HTTPConnection | None = None
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
        if self._conn is not None:
            self._conn.close()

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
                self._post(body)
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

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = self.cfg.remote_timeout
            host, port = self.url.hostname or "", self.url.port
            if self.url.scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    host, port, timeout=timeout, context=ssl.create_default_context())
            else:
                self._conn = http.client.HTTPConnection(host, port, timeout=timeout)
        return self._conn

    def headers(self) -> dict[str, str]:
        cfg = self.cfg
        out = {**cfg.headers, "Content-Encoding": "snappy",
               "Content-Type": "application/x-protobuf", "User-Agent": USER_AGENT,
               "X-Prometheus-Remote-Write-Version": "0.1.0"}
        if cfg.basic_auth is not None:
            password = _secret_or_file(cfg.basic_auth.password, cfg.basic_auth.password_file)
            token = base64.b64encode(f"{cfg.basic_auth.username}:{password}".encode()).decode()
            out["Authorization"] = f"Basic {token}"
        elif cfg.authorization is not None:
            auth = cfg.authorization
            creds = _secret_or_file(auth.credentials, auth.credentials_file)
            out["Authorization"] = f"{auth.type} {creds}"
        return out

    def _post(self, body: bytes) -> None:
        path = self.url.path or "/"
        if self.url.query:
            path += "?" + self.url.query
        try:
            conn = self._connection()
            conn.request("POST", path, body=body, headers=self.headers())
            resp = conn.getresponse()
            text = resp.read(512).decode("utf-8", "replace").strip()
            if resp.will_close:
                resp.read()
                conn.close()
                self._conn = None
        except (OSError, http.client.HTTPException) as e:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            raise Retry(f"connection error: {e}") from None
        status = resp.status
        if 200 <= status < 300:
            return
        reason = f"HTTP {status}: {text[:200]}"
        if status == 429 and self.cfg.queue_config.retry_on_http_429:
            raise Retry(reason, _retry_after(resp.getheader("Retry-After")))
        if 400 <= status < 500:
            raise Refused(reason)
        raise Retry(reason)


def _secret_or_file(value: Any, path: str | None) -> str:
    if value is not None:
        return value.get_secret_value()
    if path:
        return Path(path).read_text().strip()
    return ""


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
