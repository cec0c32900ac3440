"""Process and Python runtime collectors, registered on REGISTRY like prometheus_client's.

``process_*`` (CPU, memory, file descriptors, start time, threads), ``python_info`` and
``python_gc_*`` carry prometheus_client's exact names and help, so existing dashboards and
alerts keep working. The process figures come straight from /proc, as prometheus_client
reads them: instrumenting a service needs no psutil. ``watchkeeper_event_loop_lag_seconds``
says how late asyncio callbacks run, for every loop that is being watched.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .family import CounterMetricFamily, GaugeMetricFamily, Metric
from .registry import REGISTRY, CollectorRegistry

try:
    import resource

    _PAGESIZE = resource.getpagesize()
except ImportError:  # pragma: no cover - not Unix
    _PAGESIZE = 4096


def _clock_ticks() -> float:
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError, AttributeError):
        return 100.0


class ProcessCollector:
    """``process_*`` for one process (``/proc/self`` unless ``pid`` says otherwise)."""

    def __init__(
        self,
        namespace: str = "",
        pid: Callable[[], int | str] = lambda: "self",
        proc: str = "/proc",
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        self._prefix = f"{namespace}_process_" if namespace else "process_"
        self._pid = pid
        self._proc = proc
        self._ticks = _clock_ticks()
        self._btime = self._boot_time()
        if registry is not None:
            registry.register(self)

    def _boot_time(self) -> float:
        """Also tells whether /proc is there at all: 0 means no process metrics."""
        try:
            with open(os.path.join(self._proc, "stat"), "rb") as f:
                for line in f:
                    if line.startswith(b"btime "):
                        return float(line.split()[1])
        except OSError:
            pass
        return 0.0

    def collect(self) -> Iterable[Metric]:
        if not self._btime:
            return []
        p = self._prefix
        piddir = os.path.join(self._proc, str(self._pid()).strip())
        result: list[Metric] = []
        try:
            with open(os.path.join(piddir, "stat"), "rb") as f:
                # Fields after the command name, which may itself contain spaces or ')'.
                fields = f.read().rpartition(b")")[2].split()
        except OSError:
            fields = []
        if fields:
            ticks = self._ticks
            result += [
                GaugeMetricFamily(p + "virtual_memory_bytes", "Virtual memory size in bytes.",
                                  value=float(fields[20])),
                GaugeMetricFamily(p + "resident_memory_bytes", "Resident memory size in bytes.",
                                  value=float(fields[21]) * _PAGESIZE),
                GaugeMetricFamily(p + "start_time_seconds",
                                  "Start time of the process since unix epoch in seconds.",
                                  value=float(fields[19]) / ticks + self._btime),
                CounterMetricFamily(p + "cpu_seconds_total",
                                    "Total user and system CPU time spent in seconds.",
                                    value=(float(fields[11]) + float(fields[12])) / ticks),
                GaugeMetricFamily(p + "threads", "Number of OS threads in the process.",
                                  value=float(fields[17])),
            ]
        try:
            open_fds = len(os.listdir(os.path.join(piddir, "fd")))
            max_fds = None
            with open(os.path.join(piddir, "limits"), "rb") as f:
                for line in f:
                    if line.startswith(b"Max open files"):
                        max_fds = float(line.split()[3])
                        break
        except OSError:
            return result
        result.append(GaugeMetricFamily(p + "open_fds", "Number of open file descriptors.",
                                        value=float(open_fds)))
        if max_fds is not None:
            result.append(GaugeMetricFamily(
                p + "max_fds", "Maximum number of open file descriptors.", value=max_fds))
        return result


# sys.implementation.name -> platform.python_implementation(), without importing platform.
_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython",
                    "jython": "Jython"}


class PlatformCollector:
    """``python_info{version,implementation,major,minor,patchlevel}``; fixed at start."""

    def __init__(self, registry: CollectorRegistry | None = REGISTRY,
                 platform: Any = None) -> None:
        if platform is None:
            version = sys.version.split()[0]  # what platform.python_version() answers
            implementation = _IMPLEMENTATIONS.get(sys.implementation.name)
            if implementation is None:
                import platform as platform_module

                implementation = platform_module.python_implementation()
            major, minor, patchlevel = [*version.split(".", 2), "0", "0"][:3]
        else:
            version, implementation = platform.python_version(), platform.python_implementation()
            major, minor, patchlevel = platform.python_version_tuple()
        info = {
            "version": version,
            "implementation": implementation,
            "major": major,
            "minor": minor,
            "patchlevel": patchlevel,
        }
        family = GaugeMetricFamily("python_info", "Python platform information",
                                   labels=list(info))
        family.add_metric(list(info.values()), 1.0)
        self._metrics = [family]
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterable[Metric]:
        return self._metrics


class GCCollector:
    """``python_gc_objects_collected/uncollectable/collections_total{generation}``."""

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        if not hasattr(gc, "get_stats") or sys.implementation.name != "cpython":
            return
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterable[Metric]:
        collected = CounterMetricFamily(
            "python_gc_objects_collected", "Objects collected during gc",
            labels=["generation"])
        uncollectable = CounterMetricFamily(
            "python_gc_objects_uncollectable", "Uncollectable objects found during GC",
            labels=["generation"])
        collections = CounterMetricFamily(
            "python_gc_collections", "Number of times this generation was collected",
            labels=["generation"])
        for generation, stat in enumerate(gc.get_stats()):
            gen = (str(generation),)
            collected.add_metric(gen, stat["collected"])
            uncollectable.add_metric(gen, stat["uncollectable"])
            collections.add_metric(gen, stat["collections"])
        return [collected, uncollectable, collections]


class EventLoopLagCollector:
    """``watchkeeper_event_loop_lag_seconds``: the worst lateness of a periodic callback.

    The value is the largest lag seen since the previous scrape, so a stall between two
    scrapes is not missed. A loop is watched once ``watch(loop)`` is called, or on its own
    when a scrape happens inside a running loop (an async /metrics handler). Only running
    loops are reported, the worst of them if several: nothing at all when no loop runs.
    """

    def __init__(self, interval: float = 0.5,
                 registry: CollectorRegistry | None = REGISTRY) -> None:
        self.interval = interval
        self._lags: dict[Any, float] = {}  # loop -> worst lag since the last scrape
        if registry is not None:
            registry.register(self)

    def watch(self, loop: Any = None) -> None:
        """Start measuring ``loop`` (default: the running one); safe from any thread."""
        if loop is None:
            import asyncio

            loop = asyncio.get_running_loop()
        if loop in self._lags:
            return
        self._lags[loop] = 0.0
        loop.call_soon_threadsafe(self._schedule, loop)

    def _schedule(self, loop: Any) -> None:
        loop.call_later(self.interval, self._tick, loop, loop.time() + self.interval)

    def _tick(self, loop: Any, expected: float) -> None:
        self._lags[loop] = max(self._lags.get(loop, 0.0), loop.time() - expected)
        self._schedule(loop)

    def collect(self) -> Iterator[Metric]:
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:  # no loop can be running
            return
        try:
            self.watch(asyncio.get_running_loop())
        except RuntimeError:
            pass
        lags = []
        for loop, lag in list(self._lags.items()):
            if loop.is_closed():
                self._lags.pop(loop, None)
            elif loop.is_running():
                lags.append(lag)
                self._lags[loop] = 0.0
        if lags:
            yield GaugeMetricFamily(
                "watchkeeper_event_loop_lag_seconds",
                "Worst lateness of a periodic asyncio callback since the last scrape, in seconds.",
                value=max(lags))


PROCESS_COLLECTOR = ProcessCollector()
PLATFORM_COLLECTOR = PlatformCollector()
GC_COLLECTOR = GCCollector()
EVENT_LOOP_LAG_COLLECTOR = EventLoopLagCollector()
