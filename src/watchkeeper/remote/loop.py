"""The loop both queue senders run (remote write and OTLP out): read a batch from the
durable queue, wait for it to fill or for its deadline, deliver it with backoff, then
acknowledge it, so a restart resumes after what the sink took.

A subclass turns a batch into requests (``_deliver``) and counts each attempt in its own
metrics (the ``_on_*`` hooks); what every sender shares is kept here, with the figures
``/api/v1/status/remote_write`` shows.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

from watchkeeper.config.secrets import redact_urls

from .client import Client, Refused, Retry
from .queue import Batch, QueueLog


class QueueSender:
    """One endpoint's queue, its sending thread, and what happened to its samples."""

    kind = "remote write"

    def __init__(self, cfg: Any, queue: QueueLog, name: str, log: logging.Logger) -> None:
        self.cfg = cfg
        self.queue = queue
        self.name = name
        self.log = log
        self.settled = 0  # samples delivered, refused or dropped since start
        self.sent = self.failed = self.retried = self.dropped = 0  # samples, since start
        self.last_error: tuple[float, str] | None = None  # (unix time, message)
        self.last_success: float | None = None  # unix time of the last 2xx answer
        self.last_acknowledged: float | None = None  # unix time the position last moved
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"{self.kind.replace(' ', '-')}-{self.name}")
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def pending(self) -> int:
        return max(0, self.queue.written_samples - self.settled)

    def _run(self) -> None:
        q = self.cfg.queue_config
        first_seen: float | None = None
        while not self._stop.is_set():
            try:
                batch = self._read()
            except Exception:
                self.log.exception("%s %s: cannot read the queue", self.kind, self.name)
                self._stop.wait(1.0)
                continue
            changed = self.queue.take_changed()
            if changed:
                self._forget(changed)
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
                self.settled += len(batch)
                self.queue.acknowledge(batch.end)
                self.last_acknowledged = time.time()
            self._after_batch(time.monotonic() - began)

    # -- what a subclass provides ----------------------------------------------------------
    def _read(self) -> Batch:
        return self.queue.read(self._read_size())

    def _read_size(self) -> int:
        return int(self.cfg.queue_config.max_samples_per_send)

    def _deliver(self, batch: Batch) -> bool:
        """Send ``batch`` until delivered or refused; False only when stopping."""
        raise NotImplementedError

    def _forget(self, ids: set[int]) -> None:
        """Drop what is cached for ``ids``: the queue read them again with other labels."""

    def _after_batch(self, seconds: float) -> None:
        """Called after every delivery attempt of a batch (resharding decides here)."""

    def _on_attempt(self, count: int, size: int) -> None: ...
    def _on_success(self, count: int, answer: bytes, seconds: float) -> None: ...
    def _on_refused(self, count: int) -> None: ...
    def _on_retry(self, count: int, seconds: float) -> None: ...
    def _on_dropped(self, count: int) -> None: ...

    # -- shared ----------------------------------------------------------------------------
    def _drop(self, count: int) -> None:
        """``count`` samples that write relabelling dropped: settled, never sent."""
        self.dropped += count
        self._on_dropped(count)

    def _error(self, message: str) -> None:
        self.last_error = (time.time(), redact_urls(message)[:500])

    def _send_with_backoff(self, client: Client, body: bytes, count: int) -> bool:
        """Post ``body`` until it is delivered or refused (True), resending as the
        protocol says with exponential backoff and jitter up to ``max_backoff`` (or after
        ``Retry-After``); False only when stopping."""
        q = self.cfg.queue_config
        backoff = q.min_backoff
        while True:
            self.sent += count
            self._on_attempt(count, len(body))
            start = time.monotonic()
            try:
                answer = client.post(body)
                self.last_success = time.time()
                self._on_success(count, answer, time.monotonic() - start)
                return True
            except Refused as e:
                self.failed += count
                self._error(str(e))
                self._on_refused(count)
                self.log.error("%s %s: %d samples refused, not resent: %s", self.kind,
                               self.name, count, e)
                return True
            except Retry as e:
                self.retried += count
                self._error(str(e))
                self._on_retry(count, time.monotonic() - start)
                delay = e.delay if e.delay is not None else backoff * random.uniform(0.5, 1.0)
                self.log.warning("%s %s: %s; retrying in %.2fs", self.kind, self.name, e,
                                 delay)
                backoff = min(backoff * 2, q.max_backoff)
            if self._stop.wait(delay):
                return False
