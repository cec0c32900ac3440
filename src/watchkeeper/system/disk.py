"""Block device I/O counters as ``node_disk_*{device}``, from /proc/diskstats.

Partitions, loop and ram devices are left out with node_exporter's default pattern so a
disk's traffic is counted once. Sectors are 512 bytes and times milliseconds in the kernel's
accounting, whatever the hardware; node_exporter converts them the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from watchkeeper.metrics.family import Metric, Sample

from ._families import labelled

# node_exporter 1.5's default for --collector.diskstats.device-exclude.
DEVICE_EXCLUDE = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"
SECTOR_BYTES = 512.0

# (column after the device name, metric, type, scale, help) in /proc/diskstats order.
DISKSTATS_FIELDS: tuple[tuple[int, str, str, float, str], ...] = (
    (0, "node_disk_reads_completed_total", "counter", 1.0,
     "The total number of reads completed successfully."),
    (1, "node_disk_reads_merged_total", "counter", 1.0, "The total number of reads merged."),
    (2, "node_disk_read_bytes_total", "counter", SECTOR_BYTES,
     "The total number of bytes read successfully."),
    (3, "node_disk_read_time_seconds_total", "counter", 0.001,
     "The total number of seconds spent by all reads."),
    (4, "node_disk_writes_completed_total", "counter", 1.0,
     "The total number of writes completed successfully."),
    (5, "node_disk_writes_merged_total", "counter", 1.0, "The number of writes merged."),
    (6, "node_disk_written_bytes_total", "counter", SECTOR_BYTES,
     "The total number of bytes written successfully."),
    (7, "node_disk_write_time_seconds_total", "counter", 0.001,
     "This is the total number of seconds spent by all writes."),
    (8, "node_disk_io_now", "gauge", 1.0, "The number of I/Os currently in progress."),
    (9, "node_disk_io_time_seconds_total", "counter", 0.001, "Total seconds spent doing I/Os."),
    (10, "node_disk_io_time_weighted_seconds_total", "counter", 0.001,
     "The weighted # of seconds spent doing I/Os."),
    (11, "node_disk_discards_completed_total", "counter", 1.0,
     "The total number of discards completed successfully."),
    (12, "node_disk_discards_merged_total", "counter", 1.0,
     "The total number of discards merged."),
    (13, "node_disk_discarded_sectors_total", "counter", 1.0,
     "The total number of sectors discarded successfully."),
    (14, "node_disk_discard_time_seconds_total", "counter", 0.001,
     "This is the total number of seconds spent by all discards."),
    (15, "node_disk_flush_requests_total", "counter", 1.0,
     "The total number of flush requests completed successfully"),
    (16, "node_disk_flush_requests_time_seconds_total", "counter", 0.001,
     "This is the total number of seconds spent by all flush requests."),
)


def read_diskstats(procfs: str = "/proc",
                   device_exclude: str = DEVICE_EXCLUDE) -> dict[str, list[int]]:
    """``{device: [raw columns after the name]}`` for the whole disks."""
    exclude = re.compile(device_exclude)
    with open(os.path.join(procfs, "diskstats"), "rb") as f:
        data = f.read()
    disks: dict[str, list[int]] = {}
    for line in data.splitlines():
        parts = line.split()
        if len(parts) < 14:
            continue
        name = parts[2].decode()
        if not exclude.search(name):
            disks[name] = [int(v) for v in parts[3:]]
    return disks


class DiskCollector:
    """``node_disk_read_bytes_total{device}`` and the other diskstats counters."""

    def __init__(self, procfs: str = "/proc", device_exclude: str = DEVICE_EXCLUDE) -> None:
        self._procfs = procfs
        self._exclude = device_exclude
        self._use_procfs = os.path.exists(os.path.join(procfs, "diskstats"))

    def collect(self) -> Iterator[Metric]:
        if self._use_procfs:
            disks = read_diskstats(self._procfs, self._exclude)
        else:
            disks = _psutil_diskstats(self._exclude)
        for column, name, typ, scale, doc in DISKSTATS_FIELDS:
            family, sample_name = labelled(name, doc, typ)
            for device, values in disks.items():
                if column < len(values) and values[column] >= 0:
                    family.samples.append(
                        Sample(sample_name, {"device": device}, values[column] * scale))
            if family.samples:
                yield family


def _psutil_diskstats(device_exclude: str) -> dict[str, list[int]]:
    """The columns psutil knows, in diskstats order; unknown ones are -1 and skipped."""
    import psutil

    exclude = re.compile(device_exclude)
    disks = {}
    for name, c in (psutil.disk_io_counters(perdisk=True) or {}).items():
        if exclude.search(name):
            continue
        disks[name] = [
            c.read_count, getattr(c, "read_merged_count", -1), c.read_bytes // 512,
            c.read_time, c.write_count, getattr(c, "write_merged_count", -1),
            c.write_bytes // 512, c.write_time, -1, getattr(c, "busy_time", -1),
        ]
    return disks
