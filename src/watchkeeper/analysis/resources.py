"""What can run out: a used gauge beside its limit, matched series by series.

Disks are not the only thing that fills: inodes run out on a disk with space left, memory
grows until the OOM killer comes, file descriptors until ``accept`` fails, a pool until
requests queue. Each resource here is a PromQL expression for what is used and one for the
limit, both answered with the same labels; time until full is fitted the same robust way
for all of them (hourly maxima, so a daily sawtooth is flat).

The built-in ones read node_exporter's names. A config adds any gauge with a limit::

    analysis:
      capacity_resources:
        - {name: db_pool, used: 'db_pool_connections{state="in_use"}',
           limit: db_pool_max_connections, unit: short}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Filesystems that never fill the way a disk does (or cannot be written).
SKIPPED_FSTYPES = frozenset({"tmpfs", "ramfs", "overlay", "squashfs", "devtmpfs", "iso9660",
                             "nsfs", "proc", "sysfs", "cgroup", "cgroup2", "autofs"})


@dataclass(frozen=True)
class Resource:
    """``used`` and ``limit`` are PromQL whose series pair up on their labels (the metric
    name aside); ``filesystem`` skips read-only and in-memory filesystems."""

    name: str
    used: str
    limit: str
    unit: str = "short"
    filesystem: bool = False
    fills: bool = True  # False: it saturates (CPU) rather than runs out; planning only


BUILTIN: tuple[Resource, ...] = (
    Resource("disk", "node_filesystem_size_bytes - node_filesystem_avail_bytes",
             "node_filesystem_size_bytes", "bytes", filesystem=True),
    Resource("inodes", "node_filesystem_files - node_filesystem_files_free",
             "node_filesystem_files", "short", filesystem=True),
    Resource("memory", "node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes",
             "node_memory_MemTotal_bytes", "bytes"),
    Resource("cpu", 'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
             'count by (instance) (node_cpu_seconds_total{mode="idle"})', "short",
             fills=False),
    Resource("pool", 'sum by (pool_name) (db_client_connection_count{state="used"})',
             "max by (pool_name) (db_client_connection_max)", "short"),
    Resource("file_descriptors", "node_filefd_allocated", "node_filefd_maximum", "short"),
    Resource("process_file_descriptors", "process_open_fds", "process_max_fds", "short"),
)

_configured: tuple[Resource, ...] = ()


def configure_from(config: Any) -> None:
    """``configure`` from a config's ``analysis.capacity_resources`` (already validated)."""
    configure(Resource(r.name, r.used, r.limit, r.unit)
              for r in config.analysis.capacity_resources)


def configure(resources: Iterable[Resource]) -> None:
    """The config's own resources, beside the built-in ones (the server sets them at start
    and on reload, so the API, rules, reports and the timer all see the same list)."""
    global _configured
    extra = tuple(resources)
    names = [r.name for r in (*BUILTIN, *extra)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"capacity resource name(s) used twice: {dupes}")
    _configured = extra


def all_resources() -> tuple[Resource, ...]:
    return (*BUILTIN, *_configured)


def select(names: Iterable[str] | None) -> tuple[Resource, ...]:
    """The resources named (all when ``names`` is None); an unknown name is an error."""
    every = all_resources()
    if names is None:
        return every
    wanted = list(names)
    known = {r.name for r in every}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown capacity resource(s) {unknown}; known: {sorted(known)}")
    return tuple(r for r in every if r.name in wanted)
