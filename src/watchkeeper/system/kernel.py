"""Kernel-wide figures with node_exporter's names: file descriptors (``filefd``), paging
and OOM kills (``vmstat``), pressure stall information (``pressure``), socket counts
(``sockstat``). Each is one small /proc file; a kernel without it simply has no family.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from watchkeeper.metrics.family import Metric

from ._families import single

# node_exporter 1.5's default for --collector.vmstat.fields.
VMSTAT_FIELDS = r"^(oom_kill|pgpg|pswp|pg.*fault).*"
# (resource, line, metric suffix, help) of /proc/pressure/*.
PRESSURE = (
    ("cpu", "some", "cpu_waiting", "Total time in seconds that processes have waited for CPU "
     "time"),
    ("io", "some", "io_waiting", "Total time in seconds that processes have waited due to IO "
     "congestion"),
    ("io", "full", "io_stalled", "Total time in seconds no process could make progress due to "
     "IO congestion"),
    ("memory", "some", "memory_waiting", "Total time in seconds that processes have waited for "
     "memory"),
    ("memory", "full", "memory_stalled", "Total time in seconds no process could make progress "
     "due to memory congestion"),
)
try:
    _PAGESIZE = os.sysconf("SC_PAGESIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover
    _PAGESIZE = 4096


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


class KernelCollector:
    """``node_filefd_*``, ``node_vmstat_*``, ``node_pressure_*``, ``node_sockstat_*``."""

    def __init__(self, procfs: str = "/proc", vmstat_fields: str = VMSTAT_FIELDS) -> None:
        self._procfs = procfs
        self._vmstat_re = re.compile(vmstat_fields)
        self._vmstat_selected: dict[str, bool] = {}  # the kernel's field set is fixed

    def _path(self, *parts: str) -> str:
        return os.path.join(self._procfs, *parts)

    def collect(self) -> Iterator[Metric]:
        yield from self._filefd()
        yield from self._vmstat()
        yield from self._pressure()
        yield from self._sockstat()

    def _filefd(self) -> Iterator[Metric]:
        text = _read(self._path("sys", "fs", "file-nr"))
        if text is None:
            return
        allocated, _unused, maximum = text.split()[:3]
        yield single("node_filefd_allocated", "File descriptor statistics: allocated.", "gauge",
                     float(allocated))
        yield single("node_filefd_maximum", "File descriptor statistics: maximum.", "gauge",
                     float(maximum))

    def _vmstat(self) -> Iterator[Metric]:
        text = _read(self._path("vmstat"))
        if text is None:
            return
        selected = self._vmstat_selected
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            wanted = selected.get(name)
            if wanted is None:
                wanted = selected[name] = bool(self._vmstat_re.match(name))
            if value and wanted:
                yield single(f"node_vmstat_{name}", f"/proc/vmstat information field {name}.",
                             "unknown", float(value))

    def _pressure(self) -> Iterator[Metric]:
        totals: dict[tuple[str, str], float] = {}
        for resource in ("cpu", "io", "memory"):
            text = _read(self._path("pressure", resource))
            for line in (text or "").splitlines():
                kind, _, rest = line.partition(" ")
                for field in rest.split():
                    if field.startswith("total="):
                        totals[resource, kind] = int(field[6:]) / 1e6  # microseconds
        for resource, kind, name, doc in PRESSURE:
            if (resource, kind) in totals:
                yield single(f"node_pressure_{name}_seconds_total", doc, "counter",
                             totals[resource, kind])

    def _sockstat(self) -> Iterator[Metric]:
        for filename in ("sockstat", "sockstat6"):
            text = _read(self._path("net", filename))
            for line in (text or "").splitlines():
                protocol, _, rest = line.partition(":")
                fields = rest.split()
                if protocol == "sockets":
                    yield single("node_sockstat_sockets_used", "Number of IPv4 sockets in use.",
                                 "gauge", float(fields[1]))
                    continue
                for key, value in zip(fields[::2], fields[1::2], strict=False):
                    yield _sockstat_gauge(protocol, key, float(value))
                    if key == "mem" and protocol in ("TCP", "UDP"):  # pages, also as bytes
                        yield _sockstat_gauge(protocol, "mem_bytes", float(value) * _PAGESIZE)


def _sockstat_gauge(protocol: str, key: str, value: float) -> Metric:
    return single(f"node_sockstat_{protocol}_{key}",
                  f"Number of {protocol} sockets in state {key}.", "gauge", value)
