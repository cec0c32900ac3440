"""Who and when this host is: ``node_uname_info``, ``node_boot_time_seconds``,
``node_time_seconds`` and ``node_time_zone_offset_seconds``, with node_exporter's names.

Boot time never changes while the host runs, so it is read once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from watchkeeper.metrics.family import GaugeMetricFamily, Metric

UNAME_LABELS = ("domainname", "machine", "nodename", "release", "sysname", "version")


def boot_time(procfs: str = "/proc") -> float:
    """Seconds since the epoch at which the host booted (``btime`` of /proc/stat)."""
    try:
        with open(os.path.join(procfs, "stat"), "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    import psutil

    return float(psutil.boot_time())


def _domainname(procfs: str) -> str:
    try:
        with open(os.path.join(procfs, "sys", "kernel", "domainname")) as f:
            return f.read().strip() or "(none)"
    except OSError:
        return "(none)"


class NodeCollector:
    """uname, boot time, the clock and the time zone of the host."""

    def __init__(self, procfs: str = "/proc") -> None:
        self._boot_time = boot_time(procfs)
        u = os.uname()
        self._uname = {
            "domainname": _domainname(procfs), "machine": u.machine, "nodename": u.nodename,
            "release": u.release, "sysname": u.sysname, "version": u.version,
        }

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "node_boot_time_seconds", "Node boot time, in unixtime.", value=self._boot_time)
        now = time.time()
        yield GaugeMetricFamily(
            "node_time_seconds", "System time in seconds since epoch (1970).", value=now)
        local = time.localtime(now)
        zone = GaugeMetricFamily(
            "node_time_zone_offset_seconds", "System time zone offset in seconds.",
            labels=["time_zone"])
        zone.add_metric((local.tm_zone,), float(local.tm_gmtoff))
        yield zone
        uname = GaugeMetricFamily(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            labels=list(UNAME_LABELS))
        uname.add_metric([self._uname[k] for k in UNAME_LABELS], 1.0)
        yield uname
