"""Multiprocess mode for pre-fork servers (gunicorn, uvicorn --workers).

Set ``PROMETHEUS_MULTIPROC_DIR`` (or ``WATCHKEEPER_MULTIPROC_DIR``) to an empty directory
before the workers start; metrics then keep their numbers in per-worker files there.
Serve ``/metrics`` from a registry holding a ``MultiProcessCollector``::

    registry = CollectorRegistry()
    MultiProcessCollector(registry)

Workers that exit are folded into one aggregate file by the next scrape, so its cost
does not grow with every worker that ever lived. Calling ``mark_process_dead`` from the
server's child-exit hook, as with prometheus_client, does the same at once::

    # gunicorn.conf.py
    def child_exit(server, worker):
        mark_process_dead(worker.pid)
"""

from .collector import MultiProcessCollector
from .compact import compact_dead_workers, mark_process_dead
from .values import directory, open_value

__all__ = [
    "MultiProcessCollector",
    "compact_dead_workers",
    "directory",
    "mark_process_dead",
    "open_value",
]
