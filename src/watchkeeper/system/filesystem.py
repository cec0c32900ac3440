"""Mounted file systems as ``node_filesystem_*{device,mountpoint,fstype}``.

Pseudo file systems (proc, sysfs, cgroup, overlay, ...) and system mount points
(/dev, /proc, /sys, docker's layers) are left out with node_exporter's default patterns,
so the series are the ones a "Node Exporter Full" dashboard expects. Sizes come from
statvfs, in the same units node_exporter uses (blocks times the block size).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from typing import NamedTuple

from watchkeeper.metrics.family import GaugeMetricFamily, Metric

# node_exporter 1.5's defaults for --collector.filesystem.{mount-points,fs-types}-exclude.
MOUNT_POINTS_EXCLUDE = (
    r"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
)
FS_TYPES_EXCLUDE = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs"
    r"|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs"
    r"|squashfs|sysfs|tracefs)$"
)
# File systems whose statvfs can hang for as long as their server is gone.
REMOTE_FS_TYPES = (
    r"^(nfs4?|cifs|smb3?|smbfs|ceph|glusterfs|9p|afs|lustre|beegfs|gpfs|davfs|fuse(\..+)?)$"
)
STATFS_TIMEOUT = 5.0  # node_exporter's --collector.filesystem.mount-timeout
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
log = logging.getLogger(__name__)


class Mount(NamedTuple):
    device: str
    mountpoint: str
    fstype: str
    options: str

    @property
    def readonly(self) -> bool:
        return "ro" in self.options.split(",")


def _unescape(field: str) -> str:
    """/proc/mounts writes a space in a path as ``\\040``."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(data: str) -> list[Mount]:
    mounts = []
    for line in data.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            mounts.append(Mount(_unescape(parts[0]), _unescape(parts[1]), parts[2], parts[3]))
    return mounts


def _read_mounts(procfs: str) -> list[Mount]:
    # node_exporter reads PID 1's view first, so a containerised exporter sees the host's.
    for path in (os.path.join(procfs, "1", "mounts"), os.path.join(procfs, "self", "mounts")):
        try:
            with open(path) as f:
                return parse_mounts(f.read())
        except OSError:
            continue
    import psutil

    return [Mount(p.device, p.mountpoint, p.fstype, p.opts)
            for p in psutil.disk_partitions(all=True)]


def mounted_filesystems(
    procfs: str = "/proc",
    mount_points_exclude: str = MOUNT_POINTS_EXCLUDE,
    fs_types_exclude: str = FS_TYPES_EXCLUDE,
) -> list[Mount]:
    """Real file systems, once each, in mount order (what ``df`` would list)."""
    mp_re, fs_re = re.compile(mount_points_exclude), re.compile(fs_types_exclude)
    seen: set[tuple[str, str, str]] = set()
    result = []
    for m in _read_mounts(procfs):
        key = (m.device, m.mountpoint, m.fstype)
        if key in seen or mp_re.search(m.mountpoint) or fs_re.search(m.fstype):
            continue
        seen.add(key)
        result.append(m)
    return result


class StuckMountGuard:
    """statvfs of remote file systems on a helper thread, with a timeout.

    A mount whose call does not return in time is reported with device_error 1 and not
    asked again until that call comes back, so one dead NFS server cannot pile up threads
    or stall every scrape, as node_exporter's mount timeout also ensures.
    """

    def __init__(self, timeout: float = STATFS_TIMEOUT) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._stuck: set[str] = set()

    def statvfs(self, path: str) -> os.statvfs_result | None:
        """The result, None while the mount is stuck; OSError as os.statvfs raises it."""
        with self._lock:
            if path in self._stuck:
                return None
        outcome: list[os.statvfs_result | OSError] = []
        done = threading.Event()

        def call() -> None:
            try:
                outcome.append(os.statvfs(path))
            except OSError as e:
                outcome.append(e)
            with self._lock:
                done.set()
                self._stuck.discard(path)

        threading.Thread(target=call, name=f"statvfs {path}", daemon=True).start()
        if not done.wait(self.timeout):
            with self._lock:
                if not done.is_set():
                    self._stuck.add(path)
                    log.warning("statvfs(%r) did not return in %.1fs; skipping it until "
                                "it does", path, self.timeout)
                    return None
        result = outcome[0]
        if isinstance(result, OSError):
            raise result
        return result


class FilesystemCollector:
    """size/free/avail bytes, files, files_free, readonly and device_error per file system."""

    def __init__(
        self,
        procfs: str = "/proc",
        mount_points_exclude: str = MOUNT_POINTS_EXCLUDE,
        fs_types_exclude: str = FS_TYPES_EXCLUDE,
        remote_fs_types: str = REMOTE_FS_TYPES,
        statfs_timeout: float = STATFS_TIMEOUT,
    ) -> None:
        self._procfs = procfs
        self._mp_exclude = mount_points_exclude
        self._fs_exclude = fs_types_exclude
        self._remote = re.compile(remote_fs_types)
        self.guard = StuckMountGuard(statfs_timeout)

    def collect(self) -> Iterator[Metric]:
        labels = ["device", "fstype", "mountpoint"]
        size = GaugeMetricFamily(
            "node_filesystem_size_bytes", "Filesystem size in bytes.", labels=labels)
        free = GaugeMetricFamily(
            "node_filesystem_free_bytes", "Filesystem free space in bytes.", labels=labels)
        avail = GaugeMetricFamily(
            "node_filesystem_avail_bytes",
            "Filesystem space available to non-root users in bytes.", labels=labels)
        files = GaugeMetricFamily(
            "node_filesystem_files", "Filesystem total file nodes.", labels=labels)
        files_free = GaugeMetricFamily(
            "node_filesystem_files_free", "Filesystem total free file nodes.", labels=labels)
        readonly = GaugeMetricFamily(
            "node_filesystem_readonly", "Filesystem read-only status.", labels=labels)
        device_error = GaugeMetricFamily(
            "node_filesystem_device_error",
            "Whether an error occurred while getting statistics for the given device.",
            labels=labels)
        mounts = mounted_filesystems(self._procfs, self._mp_exclude, self._fs_exclude)
        for m in mounts:
            key = (m.device, m.fstype, m.mountpoint)
            if not hasattr(os, "statvfs"):  # Windows: sizes only, from psutil
                if _add_psutil_usage(m.mountpoint, key, size, free, avail):
                    device_error.add_metric(key, 0.0)
                    readonly.add_metric(key, 1.0 if m.readonly else 0.0)
                else:
                    device_error.add_metric(key, 1.0)
                continue
            try:
                if self._remote.search(m.fstype):
                    st = self.guard.statvfs(m.mountpoint)
                else:
                    st = os.statvfs(m.mountpoint)
            except OSError:
                st = None
            if st is None:
                device_error.add_metric(key, 1.0)
                continue
            device_error.add_metric(key, 0.0)
            block = st.f_bsize
            size.add_metric(key, float(st.f_blocks * block))
            free.add_metric(key, float(st.f_bfree * block))
            avail.add_metric(key, float(st.f_bavail * block))
            files.add_metric(key, float(st.f_files))
            files_free.add_metric(key, float(st.f_ffree))
            readonly.add_metric(key, 1.0 if m.readonly else 0.0)
        if mounts:
            yield from (avail, device_error, files, files_free, free, readonly, size)


def _add_psutil_usage(mountpoint: str, key: tuple[str, str, str], size: GaugeMetricFamily,
                      free: GaugeMetricFamily, avail: GaugeMetricFamily) -> bool:
    import psutil

    try:
        usage = psutil.disk_usage(mountpoint)
    except OSError:
        return False
    size.add_metric(key, float(usage.total))
    free.add_metric(key, float(usage.free))
    avail.add_metric(key, float(usage.free))
    return True
