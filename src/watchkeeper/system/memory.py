"""Every field of /proc/meminfo as ``node_memory_<Field>[_bytes]``, as node_exporter has them.

node_exporter turns ``Active(anon):  123 kB`` into ``node_memory_Active_anon_bytes 125952``
and keeps unitless fields (``HugePages_Total``) as they are. On Linux the file is read
directly, as node_exporter does, so every field the kernel offers is there; elsewhere
psutil's figures are given under the Linux names they correspond to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from watchkeeper.metrics.family import Metric

from ._families import single

_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PSUTIL_FIELDS = {
    "total": "MemTotal", "available": "MemAvailable", "free": "MemFree",
    "buffers": "Buffers", "cached": "Cached", "shared": "Shmem",
    "active": "Active", "inactive": "Inactive", "wired": "Wired",
}


def parse_meminfo(data: bytes) -> dict[str, float]:
    """``{"MemTotal_bytes": 25274793984.0, "HugePages_Total": 0.0, ...}``."""
    fields: dict[str, float] = {}
    for line in data.splitlines():
        key, sep, rest = line.partition(b":")
        if not sep:
            continue
        parts = rest.split()
        if not parts:
            continue
        try:
            name = key.decode().strip().replace("(", "_").replace(")", "")
            value = float(parts[0])
        except ValueError:  # a line this kernel's format does not explain: skip it
            continue
        if not _FIELD_RE.match(name):
            continue
        if len(parts) > 1 and parts[1] == b"kB":
            name += "_bytes"
            value *= 1024
        fields[name] = value
    return fields


class MemoryCollector:
    """``node_memory_*``: one gauge per meminfo field."""

    def __init__(self, procfs: str = "/proc") -> None:
        self._path = os.path.join(procfs, "meminfo")
        self._use_procfs = os.path.exists(self._path)

    def collect(self) -> Iterator[Metric]:
        fields = self._read()
        for name, value in fields.items():
            yield single("node_memory_" + name, f"Memory information field {name}.", "gauge",
                         value)

    def _read(self) -> dict[str, float]:
        if self._use_procfs:
            with open(self._path, "rb") as f:
                return parse_meminfo(f.read())
        import psutil

        fields: dict[str, float] = {}
        vm = psutil.virtual_memory()
        for attr, name in _PSUTIL_FIELDS.items():
            if hasattr(vm, attr):
                fields[name + "_bytes"] = float(getattr(vm, attr))
        swap = psutil.swap_memory()
        fields["SwapTotal_bytes"] = float(swap.total)
        fields["SwapFree_bytes"] = float(swap.free)
        return fields
