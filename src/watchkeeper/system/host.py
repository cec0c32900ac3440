"""HostCollector: every host collector behind one ``collect()``.

One broken source (an unreadable file, a vanished mount) must not cost the whole scrape,
so each part is collected on its own and a failure is logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from watchkeeper.metrics.family import Metric

from .cpu import CPUCollector
from .disk import DiskCollector
from .docker import DockerCollector
from .filesystem import FilesystemCollector
from .kernel import KernelCollector
from .memory import MemoryCollector
from .netclass import NetClassCollector
from .netstat import NetstatCollector
from .network import NetworkCollector
from .node import NodeCollector

log = logging.getLogger(__name__)


class HostCollector:
    """CPU, memory, file systems, disks, network, kernel counters, uname/os/time, Docker."""

    def __init__(self, procfs: str = "/proc", docker_socket: str | None = None) -> None:
        self.parts = [
            CPUCollector(procfs),
            MemoryCollector(procfs),
            FilesystemCollector(procfs),
            DiskCollector(procfs),
            NetworkCollector(procfs),
            NetClassCollector(),
            NetstatCollector(procfs),
            KernelCollector(procfs),
            NodeCollector(procfs),
            DockerCollector(docker_socket),
        ]

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            try:
                families = list(part.collect())
            except Exception:  # one failing source must not cost the scrape
                log.exception("host collector %s failed", type(part).__name__)
                continue
            yield from families
