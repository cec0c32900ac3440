"""Host metrics with node_exporter's names: custom collectors for any CollectorRegistry.

``registry.register(HostCollector())`` gives a /metrics that dashboards built for
node_exporter read unchanged.
"""

from .host import HostCollector

__all__ = ["HostCollector"]
