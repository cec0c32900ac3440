"""Point-in-time host figures and the rates between two of them, for ``watchkeeper stats``.

A rate needs two samples, so a view is built from a pair of snapshots taken an interval
apart: CPU and per-process percentages from CPU time deltas, disk and network bytes per
second from counter deltas. Everything returned is plain data, ready for JSON or a table.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .disk import DEVICE_EXCLUDE as DISK_EXCLUDE
from .docker import container_states, docker_socket_path
from .filesystem import mounted_filesystems
from .network import DEVICE_EXCLUDE as NET_EXCLUDE


@dataclass
class ProcessSample:
    pid: int
    name: str
    user: str
    cpu_seconds: float
    rss_bytes: int


@dataclass
class Snapshot:
    """Raw counters at one instant (psutil's types where psutil answers)."""

    monotonic: float
    cpu_times: Any
    memory: Any
    swap: Any
    load: tuple[float, float, float]
    disk_io: dict[str, Any]
    net_io: dict[str, Any]
    processes: dict[int, ProcessSample] = field(default_factory=dict)


def take_snapshot(with_processes: bool = True) -> Snapshot:
    import psutil

    disk_re, net_re = re.compile(DISK_EXCLUDE), re.compile(NET_EXCLUDE)
    try:
        load = os.getloadavg()
    except (OSError, AttributeError):
        load = (0.0, 0.0, 0.0)
    snap = Snapshot(
        monotonic=time.monotonic(),
        cpu_times=psutil.cpu_times(),
        memory=psutil.virtual_memory(),
        swap=psutil.swap_memory(),
        load=load,
        disk_io={k: v for k, v in (psutil.disk_io_counters(perdisk=True) or {}).items()
                 if not disk_re.search(k)},
        net_io={k: v for k, v in psutil.net_io_counters(pernic=True).items()
                if not net_re.search(k)},
    )
    if with_processes:
        for p in psutil.process_iter(["name", "username", "cpu_times", "memory_info"]):
            info = p.info
            times, mem = info.get("cpu_times"), info.get("memory_info")
            if times is None or mem is None:
                continue
            snap.processes[p.pid] = ProcessSample(
                p.pid, info.get("name") or "?", info.get("username") or "?",
                times.user + times.system, mem.rss)
    return snap


def _percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole > 0 else 0.0


def _cpu(a: Any, b: Any) -> dict[str, float]:
    delta = {f: max(0.0, getattr(b, f) - getattr(a, f)) for f in b._fields}
    # guest time is already inside user/nice on Linux; counting it twice would inflate.
    total = sum(v for k, v in delta.items() if k not in ("guest", "guest_nice"))
    idle = delta.get("idle", 0.0) + delta.get("iowait", 0.0)
    out = {"percent": _percent(total - idle, total)}
    for mode in ("user", "system", "iowait", "steal"):
        if mode in delta:
            out[mode] = _percent(delta[mode], total)
    return out


def _top(a: Snapshot, b: Snapshot, elapsed: float, limit: int) -> dict[str, list[dict]]:
    rows = []
    for pid, p in b.processes.items():
        before = a.processes.get(pid)
        used = p.cpu_seconds - before.cpu_seconds if before and before.name == p.name else 0.0
        rows.append({"pid": pid, "name": p.name, "user": p.user,
                     "cpu_percent": round(100.0 * max(0.0, used) / elapsed, 1),
                     "rss_bytes": p.rss_bytes,
                     "memory_percent": _percent(p.rss_bytes, b.memory.total)})
    by_cpu = sorted(rows, key=lambda r: (-r["cpu_percent"], -r["rss_bytes"]))[:limit]
    by_mem = sorted(rows, key=lambda r: -r["rss_bytes"])[:limit]
    return {"by_cpu": by_cpu, "by_memory": by_mem}


def disk_usage() -> list[dict[str, Any]]:
    """Like ``df``: real file systems with used, available and percent used."""
    import psutil

    rows = []
    for m in mounted_filesystems():
        try:
            usage = psutil.disk_usage(m.mountpoint)
        except OSError:
            continue
        rows.append({"mountpoint": m.mountpoint, "device": m.device, "fstype": m.fstype,
                     "total_bytes": usage.total, "used_bytes": usage.used,
                     "avail_bytes": usage.free,
                     "percent": _percent(usage.used, usage.used + usage.free)})
    return rows


def summarize(a: Snapshot, b: Snapshot, top: int = 5) -> dict[str, Any]:
    """What changed between two snapshots, as JSON-ready data."""
    elapsed = max(b.monotonic - a.monotonic, 1e-6)
    mem, swap = b.memory, b.swap
    disks = {}
    for name, c in b.disk_io.items():
        before = a.disk_io.get(name)
        if before is not None:
            disks[name] = {
                "read_bytes_per_second": max(0, c.read_bytes - before.read_bytes) / elapsed,
                "write_bytes_per_second": max(0, c.write_bytes - before.write_bytes) / elapsed,
            }
    nets = {}
    for name, c in b.net_io.items():
        before = a.net_io.get(name)
        if before is not None:
            nets[name] = {
                "receive_bytes_per_second": max(0, c.bytes_recv - before.bytes_recv) / elapsed,
                "transmit_bytes_per_second": max(0, c.bytes_sent - before.bytes_sent) / elapsed,
            }
    return {
        "interval_seconds": round(elapsed, 3),
        "cpu": {**_cpu(a.cpu_times, b.cpu_times), "cores": os.cpu_count() or 1},
        "memory": {"total_bytes": mem.total, "available_bytes": mem.available,
                   "used_bytes": mem.total - mem.available,
                   "percent": _percent(mem.total - mem.available, mem.total)},
        "swap": {"total_bytes": swap.total, "used_bytes": swap.used,
                 "percent": _percent(swap.used, swap.total)},
        "load": {"1m": b.load[0], "5m": b.load[1], "15m": b.load[2]},
        "filesystems": disk_usage(),
        "disk_io": disks,
        "network": nets,
        "processes": _top(a, b, elapsed, top),
        # None when this host has no Docker.
        "containers": container_states(docker_socket_path(), timeout=0.5),
    }
