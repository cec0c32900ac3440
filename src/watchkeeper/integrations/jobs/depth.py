"""Queue depth polled from the broker at scrape time, and each queue's health score.

    watchkeeper.watch_queues("celery", ["default"], amqp="amqp://guest:guest@127.0.0.1//")
    watchkeeper.watch_queues("rq", ["emails"], redis="redis://127.0.0.1:6379/0")

RabbitMQ is asked with a passive ``queue_declare`` over AMQP (kombu), which answers the
message and consumer counts without the management plugin. Redis is asked with ``LLEN``
(``ZCARD`` for arq) on the key each system uses. A poll happens when scraped, at most once
per ``interval`` seconds; a broker that does not answer drops the series for that scrape
rather than reporting a false 0.

Score (``watchkeeper_health_score{component="queue", name="SYSTEM/QUEUE"}``), 100 minus:
``no_workers`` 60 when messages wait and the broker reports no consumer (RabbitMQ, RQ's
worker registry); ``growing`` up to 40: the rise of the depth over the last ``window``
seconds relative to max(depth at its start, 100), times 40.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from ..scores import Score, register_score, score_from_penalties

#: How each system names a queue's key in Redis, and the command that sizes it.
REDIS_KEYS: dict[str, tuple[Callable[[str], str], str]] = {
    "celery": (lambda q: q, "llen"),
    "rq": (lambda q: f"rq:queue:{q}", "llen"),
    "dramatiq": (lambda q: f"dramatiq:{q}", "llen"),
    "arq": (lambda q: q, "zcard"),
}


class QueueDepth:
    """A collector of ``job_queue_depth`` and ``job_queue_consumers`` for some queues."""

    def __init__(self, system: str, queues: list[str], *, redis: Any = None,
                 amqp: str | None = None, interval: float = 5.0, window: float = 300.0,
                 key: Callable[[str], str] | None = None) -> None:
        if (redis is None) == (amqp is None):
            raise ValueError("watch_queues needs exactly one of redis= or amqp=")
        self.system = system
        self.queues = list(queues)
        self.amqp = amqp
        self._redis = redis
        default_key, self._command = REDIS_KEYS.get(system, (lambda q: q, "llen"))
        self._key = key or default_key
        self.interval = interval
        self.window = window
        self._lock = threading.Lock()
        self._polled = -float("inf")
        self._last: dict[str, tuple[int, int | None]] = {}
        self._history: dict[str, deque[tuple[float, int]]] = {q: deque() for q in self.queues}

    # -- polling --------------------------------------------------------------------------
    def poll(self) -> dict[str, tuple[int, int | None]]:
        """{queue: (depth, consumers or None)}, asked again once ``interval`` has passed."""
        with self._lock:
            now = time.monotonic()
            if now - self._polled < self.interval:
                return self._last
            try:
                found = self._poll_amqp() if self.amqp else self._poll_redis()
            except Exception:
                found = {}
            self._last, self._polled = found, now
            for queue, (depth, _) in found.items():
                hist = self._history[queue]
                hist.append((now, depth))
                while len(hist) > 2 and now - hist[1][0] >= self.window:
                    hist.popleft()
            return found

    def _client(self) -> Any:
        if isinstance(self._redis, str):
            import redis

            self._redis = redis.Redis.from_url(self._redis, socket_timeout=2)
        return self._redis

    def _poll_redis(self) -> dict[str, tuple[int, int | None]]:
        client = self._client()
        pipe = client.pipeline(transaction=False)
        for queue in self.queues:
            getattr(pipe, self._command)(self._key(queue))
        if self.system == "rq":
            for queue in self.queues:
                pipe.scard(f"rq:workers:{queue}")
        answers = pipe.execute()
        n = len(self.queues)
        consumers = answers[n:] if self.system == "rq" else [None] * n
        return {q: (int(d), None if c is None else int(c))
                for q, d, c in zip(self.queues, answers[:n], consumers, strict=True)}

    def _poll_amqp(self) -> dict[str, tuple[int, int | None]]:
        from kombu import Connection

        out: dict[str, tuple[int, int | None]] = {}
        with Connection(self.amqp, connect_timeout=2) as conn:
            for queue in self.queues:
                channel = conn.channel()
                try:
                    _, depth, consumers = channel.queue_declare(queue=queue, passive=True)
                    out[queue] = (int(depth), int(consumers))
                except Exception:
                    pass  # no such queue (yet): no series rather than a false 0
                finally:
                    try:
                        channel.close()
                    except Exception:
                        pass
        return out

    # -- exporting ------------------------------------------------------------------------
    def rows(self) -> list[tuple[str, int, int | None]]:
        return [(q, d, c) for q, (d, c) in sorted(self.poll().items())]

    def score(self, queue: str) -> Score:
        self.poll()
        depth, consumers = self._last.get(queue, (0, None))
        hist = self._history.get(queue) or deque()
        penalties = {"no_workers": 60.0 if depth > 0 and consumers == 0 else 0.0}
        if len(hist) >= 2:
            first, last = hist[0][1], hist[-1][1]
            penalties["growing"] = min(40.0, 40.0 * max(0, last - first) / max(first, 100))
        return score_from_penalties("queue", f"{self.system}/{queue}", penalties)


class QueueCollector:
    """One collector per registry for every watched queue (one family, however many)."""

    def __init__(self) -> None:
        self.watchers: list[QueueDepth] = []

    def collect(self) -> Iterator[Any]:
        from ...metrics.family import GaugeMetricFamily

        depth = GaugeMetricFamily("job_queue_depth", "Messages waiting in the queue.",
                                  labels=["system", "queue"])
        consumers = GaugeMetricFamily("job_queue_consumers", "Consumers the broker reports "
                                      "for the queue.", labels=["system", "queue"])
        for watcher in list(self.watchers):
            for queue, d, c in watcher.rows():
                depth.add_metric([watcher.system, queue], d)
                if c is not None:
                    consumers.add_metric([watcher.system, queue], c)
        yield depth
        yield consumers


_collectors: dict[int, QueueCollector] = {}
_collectors_lock = threading.Lock()


def watch_queues(system: str, queues: list[str], *, redis: Any = None, amqp: str | None = None,
                 interval: float = 5.0, window: float = 300.0, registry: Any = None,
                 key: Callable[[str], str] | None = None) -> QueueDepth:
    """Export the depth of ``queues`` (and their consumers where the broker says) and score
    them; ``redis`` is a URL or a redis-py client, ``amqp`` a broker URL."""
    from ...metrics.registry import REGISTRY

    watcher = QueueDepth(system, queues, redis=redis, amqp=amqp, interval=interval,
                         window=window, key=key)
    target = registry if registry is not None else REGISTRY
    with _collectors_lock:
        collector = _collectors.get(id(target))
        if collector is None:
            collector = _collectors[id(target)] = QueueCollector()
            target.register(collector)
        collector.watchers.append(watcher)
    for queue in watcher.queues:
        register_score("queue", f"{system}/{queue}",
                       lambda q=queue: watcher.score(q), registry=registry)
    return watcher
