"""Host metrics with node_exporter's names: custom collectors for any CollectorRegistry.

``registry.register(HostCollector())`` gives a /metrics that dashboards built for
node_exporter read unchanged; each area is also a collector of its own.
"""

from .cpu import CPUCollector
from .disk import DiskCollector
from .docker import DockerCollector
from .filesystem import FilesystemCollector
from .host import HostCollector
from .kernel import KernelCollector
from .memory import MemoryCollector
from .netclass import NetClassCollector
from .netstat import NetstatCollector
from .network import NetworkCollector
from .node import NodeCollector

__all__ = [
    "CPUCollector",
    "DiskCollector",
    "DockerCollector",
    "FilesystemCollector",
    "HostCollector",
    "KernelCollector",
    "MemoryCollector",
    "NetClassCollector",
    "NetstatCollector",
    "NetworkCollector",
    "NodeCollector",
]
