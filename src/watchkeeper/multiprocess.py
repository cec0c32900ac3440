"""``watchkeeper.multiprocess``, where prometheus_client users look for it."""

from .metrics.multiprocess import MultiProcessCollector, mark_process_dead

__all__ = ["MultiProcessCollector", "mark_process_dead"]
