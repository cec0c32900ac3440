"""Helpers for multiprocess-mode tests: forked workers and a scrape of their directory."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable

from watchkeeper.metrics.multiprocess import MultiProcessCollector
from watchkeeper.metrics.registry import CollectorRegistry


def run_in_child(fn: Callable[[], object]) -> int:
    """Run ``fn`` in a forked worker that then exits; returns its pid once it is gone."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return pid


def scrape(path, compact_dead: bool = True) -> CollectorRegistry:
    """A registry reading the directory; ``compact_dead=False`` leaves compaction to the test."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(path), compact_dead=compact_dead)
    return registry
