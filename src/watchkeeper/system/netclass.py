"""Interface state from /sys/class/net as node_exporter's ``netclass`` names it:
``node_network_up``, ``node_network_info``, MTU, speed, carrier and queue length.

Only the properties dashboards and alerts use are read, each a sysfs file per interface.
Link state (operstate, carrier) is read every scrape; properties an administrator changes
(address, MTU, speed, queue length, alias) are re-read once a minute, so a host with many
container interfaces does not pay for them every second. An unreadable property, such as
the carrier of an interface that is down, is left out, as node_exporter does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from watchkeeper.metrics.family import Metric, Sample

from ._families import labelled

SYSFS_NET = "/sys/class/net"
INFO_LABELS = ("address", "broadcast", "device", "duplex", "ifalias", "operstate")
STATIC_FILES = ("address", "broadcast", "duplex", "ifalias", "mtu", "speed", "tx_queue_len")
STATIC_SECONDS = 60.0
# (sysfs file, metric, scale) for the numeric properties.
PROPERTIES = (
    ("carrier", "node_network_carrier", 1.0),
    ("mtu", "node_network_mtu_bytes", 1.0),
    ("speed", "node_network_speed_bytes", 125000.0),  # Mbit/s to bytes/s
    ("tx_queue_len", "node_network_transmit_queue_length", 1.0),
)
_PROPERTY_HELP = {
    "node_network_carrier": "carrier",
    "node_network_mtu_bytes": "mtu_bytes",
    "node_network_speed_bytes": "speed_bytes",
    "node_network_transmit_queue_length": "transmit_queue_length",
}


def _read(path: str) -> str | None:
    """A sysfs attribute, with raw os calls: a buffered file object costs several times more."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 4096).decode(errors="replace").strip()
    except OSError:  # EINVAL for the carrier of a down link, for one
        return None
    finally:
        os.close(fd)


class NetClassCollector:
    """Per-interface state; the loopback device included, as node_exporter does."""

    def __init__(self, sysfs_net: str = SYSFS_NET, static_seconds: float = STATIC_SECONDS) -> None:
        self._root = sysfs_net
        self._static_seconds = static_seconds
        self._static: dict[str, tuple[float, dict[str, str | None]]] = {}

    def _static_properties(self, device: str, path: str, now: float) -> dict[str, str | None]:
        cached = self._static.get(device)
        if cached is not None and cached[0] > now:
            return cached[1]
        values = {name: _read(os.path.join(path, name)) for name in STATIC_FILES}
        self._static[device] = (now + self._static_seconds, values)
        return values

    def collect(self) -> Iterator[Metric]:
        try:
            devices = sorted(os.listdir(self._root))
        except OSError:
            return
        up, up_name = labelled("node_network_up",
                               "Value is 1 if operstate is 'up', 0 otherwise.", "gauge")
        info, info_name = labelled(
            "node_network_info",
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.", "gauge")
        numeric = {metric: labelled(metric, f"Network device property: {_PROPERTY_HELP[metric]}",
                                    "gauge")[0] for _, metric, _ in PROPERTIES}
        now = time.monotonic()
        for gone in set(self._static) - set(devices):
            del self._static[gone]
        for device in devices:
            path = os.path.join(self._root, device)
            operstate = _read(os.path.join(path, "operstate"))
            if operstate is None:
                continue
            labels = {"device": device}
            up.samples.append(Sample(up_name, labels, 1.0 if operstate == "up" else 0.0))
            values = dict(self._static_properties(device, path, now))
            values.update(device=device, operstate=operstate,
                          carrier=_read(os.path.join(path, "carrier")))
            info.samples.append(Sample(info_name, {k: values[k] or "" for k in INFO_LABELS},
                                       1.0))
            for filename, metric, scale in PROPERTIES:
                raw = values[filename]
                try:
                    value = int(raw, 0) * scale if raw else None
                except ValueError:
                    value = None
                if value is not None:
                    numeric[metric].samples.append(Sample(metric, labels, value))
        yield info
        yield up
        for family in numeric.values():
            if family.samples:
                yield family
