"""Enqueues the Celery test's tasks in its own process and prints what its hooks counted.

    python celery_producer.py BROKER QUEUE run|depth

Run apart from the test process so that it can have the redis-py kombu's Redis transport
needs (>= 6.1) in front of the path while the test process keeps the one arq pins (< 6).
``run``: 20 adds, 3 failures, 2 flaky tasks and one add revoked before it is sent (the
worker must be up); ``depth``: 5 adds for a queue nobody consumes.
"""

from __future__ import annotations

import json
import sys
import uuid

from celery_worker_app import make_app

from watchkeeper import CollectorRegistry
from watchkeeper.integrations.jobs.celery import instrument_celery
from watchkeeper.integrations.jobs.schema import JobMetrics


def main(broker: str, queue: str, what: str) -> dict[str, float]:
    mod = make_app(broker, queue)
    registry = CollectorRegistry()
    hooks = instrument_celery(mod.app, metrics=JobMetrics(registry))
    try:
        if what == "depth":
            for i in range(5):
                mod.add.delay(i, i)
        else:
            for i in range(20):
                mod.add.delay(i, i)
            for _ in range(3):
                mod.fail.delay()
            for _ in range(2):
                mod.flaky.delay()
            revoked_id = f"revoked_{uuid.uuid4().hex[:10]}"
            if not mod.app.control.revoke(revoked_id, reply=True, timeout=10, limit=1):
                raise SystemExit("the worker did not acknowledge the revoke")
            mod.add.apply_async((1, 1), task_id=revoked_id)  # discarded as revoked
        return {s.labels["task"]: s.value for fam in registry.collect()
                for s in fam.samples if s.name == "jobs_enqueued_total"}
    finally:
        hooks.disconnect()
        mod.app.close()


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
