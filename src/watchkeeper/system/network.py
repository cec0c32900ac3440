"""Network interface counters as ``node_network_{receive,transmit}_*_total{device}``.

Read from /proc/net/dev on Linux (psutil elsewhere); the loopback device is left out
as node_exporter's default ``--collector.netdev.device-exclude=^lo$`` does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from watchkeeper.metrics.family import Metric, Sample

from ._families import labelled

DEVICE_EXCLUDE = r"^lo$"
# The columns of /proc/net/dev, receive side then transmit side.
NETDEV_COLUMNS = (
    "receive_bytes", "receive_packets", "receive_errs", "receive_drop", "receive_fifo",
    "receive_frame", "receive_compressed", "receive_multicast",
    "transmit_bytes", "transmit_packets", "transmit_errs", "transmit_drop", "transmit_fifo",
    "transmit_colls", "transmit_carrier", "transmit_compressed",
)


def read_netdev(procfs: str = "/proc",
                device_exclude: str = DEVICE_EXCLUDE) -> dict[str, dict[str, int]]:
    """``{device: {"receive_bytes": n, ...}}``."""
    exclude = re.compile(device_exclude)
    with open(os.path.join(procfs, "net", "dev"), "rb") as f:
        lines = f.read().splitlines()[2:]
    devices: dict[str, dict[str, int]] = {}
    for line in lines:
        name, sep, rest = line.partition(b":")
        if not sep:
            continue
        device = name.strip().decode()
        if not exclude.search(device):
            devices[device] = dict(zip(NETDEV_COLUMNS, map(int, rest.split()), strict=False))
    return devices


def _psutil_netdev(device_exclude: str) -> dict[str, dict[str, int]]:
    import psutil

    exclude = re.compile(device_exclude)
    return {
        name: {"receive_bytes": c.bytes_recv, "receive_packets": c.packets_recv,
               "receive_errs": c.errin, "receive_drop": c.dropin,
               "transmit_bytes": c.bytes_sent, "transmit_packets": c.packets_sent,
               "transmit_errs": c.errout, "transmit_drop": c.dropout}
        for name, c in psutil.net_io_counters(pernic=True).items()
        if not exclude.search(name)
    }


class NetworkCollector:
    """One counter family per /proc/net/dev column."""

    def __init__(self, procfs: str = "/proc", device_exclude: str = DEVICE_EXCLUDE) -> None:
        self._procfs = procfs
        self._exclude = device_exclude
        self._use_procfs = os.path.exists(os.path.join(procfs, "net", "dev"))

    def collect(self) -> Iterator[Metric]:
        if self._use_procfs:
            devices = read_netdev(self._procfs, self._exclude)
        else:
            devices = _psutil_netdev(self._exclude)
        for column in NETDEV_COLUMNS:
            family, sample_name = labelled(
                f"node_network_{column}_total", f"Network device statistic {column}.",
                "counter")
            for device, counters in devices.items():
                if column in counters:
                    family.samples.append(
                        Sample(sample_name, {"device": device}, float(counters[column])))
            if family.samples:
                yield family
