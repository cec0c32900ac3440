"""Multiprocess mode for pre-fork servers (gunicorn, uvicorn --workers).

Set ``PROMETHEUS_MULTIPROC_DIR`` (or ``WATCHKEEPER_MULTIPROC_DIR``) to an empty directory
before the workers start; metrics then keep their numbers in per-worker files there.
Serve ``/metrics`` from a registry holding a ``MultiProcessCollector`` and call
``mark_process_dead(pid)`` when a worker exits::

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    # gunicorn.conf.py
    def child_exit(server, worker):
        mark_process_dead(worker.pid)
"""

from .collector import MultiProcessCollector
from .compact import mark_process_dead
from .values import directory, open_value

__all__ = ["MultiProcessCollector", "directory", "mark_process_dead", "open_value"]
