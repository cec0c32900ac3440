"""A Celery app for the job-hook tests; run as a script it starts an instrumented worker.

Broker and queue come from the arguments or the environment, so each test run uses its own
queue (and exchange) names.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from celery import Celery


def make_app(broker: str, queue: str) -> SimpleNamespace:
    app = Celery(f"wk_{queue}", broker=broker, set_as_current=False)
    app.conf.update(task_default_queue=queue, task_default_exchange=queue,
                    task_default_routing_key=queue, broker_connection_retry_on_startup=True,
                    worker_hijack_root_logger=False, task_ignore_result=True)

    @app.task(name="wk.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="wk.fail")
    def fail() -> None:
        raise ValueError("boom")

    @app.task(name="wk.flaky", bind=True, max_retries=2)
    def flaky(self) -> int:
        if self.request.retries == 0:
            raise self.retry(countdown=0)
        return 1

    return SimpleNamespace(app=app, add=add, fail=fail, flaky=flaky)


if __name__ == "__main__":
    from watchkeeper.integrations.jobs.celery import instrument_celery

    queue = os.environ["WK_QUEUE"]
    ns = make_app(os.environ["WK_BROKER"], queue)
    port = os.environ.get("WK_PORT")
    instrument_celery(ns.app, port=int(port) if port else None)
    concurrency = sys.argv[1] if len(sys.argv) > 1 else "2"
    extra = sys.argv[2:]
    ns.app.worker_main(["worker", "-Q", queue, "-c", concurrency, "-P", "prefork",
                        "--without-heartbeat", "--without-gossip", "--without-mingle",
                        "-l", "WARNING", "-n", f"{queue}@%h", *extra])  # unique node name
