"""Who and when this host is: ``node_uname_info``, ``node_os_info``, ``node_os_version``,
``node_boot_time_seconds``, ``node_time_seconds`` and ``node_time_zone_offset_seconds``,
with node_exporter's names.

Boot time and the OS release do not change while the host runs, so they are read once.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Iterator

from watchkeeper.metrics.family import GaugeMetricFamily, Metric

UNAME_LABELS = ("domainname", "machine", "nodename", "release", "sysname", "version")
OS_INFO_LABELS = ("build_id", "id", "id_like", "image_id", "image_version", "name",
                  "pretty_name", "variant", "variant_id", "version", "version_codename",
                  "version_id")
OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")


def parse_os_release(text: str) -> dict[str, str]:
    """``KEY="value"`` lines, shell-quoted, as os-release(5) defines them."""
    fields = {}
    for line in text.split("\n"):  # only newline ends a line here, as for the shell
        key, sep, value = line.strip(" \t\r").partition("=")
        if not sep or key.startswith("#"):
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        fields[key.lower()] = words[0] if words else ""
    return fields


def read_os_release(paths: tuple[str, ...] = OS_RELEASE_FILES) -> dict[str, str] | None:
    for path in paths:
        try:
            with open(path) as f:
                return parse_os_release(f.read())
        except OSError:
            continue
    return None


def os_version_number(version_id: str) -> float | None:
    """The major.minor part of VERSION_ID as a number: "22.04.3" -> 22.04, "12" -> 12."""
    m = re.match(r"^(\d+)(\.\d+)?", version_id)
    return float(m.group(0)) if m else None


def boot_time(procfs: str = "/proc") -> float:
    """Seconds since the epoch at which the host booted (``btime`` of /proc/stat)."""
    try:
        with open(os.path.join(procfs, "stat"), "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    import psutil

    return float(psutil.boot_time())


def _domainname(procfs: str) -> str:
    try:
        with open(os.path.join(procfs, "sys", "kernel", "domainname")) as f:
            return f.read().strip() or "(none)"
    except OSError:
        return "(none)"


def _platform_uname() -> os.uname_result:
    """Windows has no os.uname; platform answers the same five fields."""
    import platform

    p = platform.uname()
    return os.uname_result((p.system, p.node, p.release, p.version, p.machine))


class NodeCollector:
    """uname, boot time, the clock and the time zone of the host."""

    def __init__(self, procfs: str = "/proc",
                 os_release_files: tuple[str, ...] = OS_RELEASE_FILES) -> None:
        self._boot_time = boot_time(procfs)
        self._os_release = read_os_release(os_release_files)
        u = os.uname() if hasattr(os, "uname") else _platform_uname()
        self._uname = {
            "domainname": _domainname(procfs), "machine": u.machine, "nodename": u.nodename,
            "release": u.release, "sysname": u.sysname, "version": u.version,
        }

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "node_boot_time_seconds", "Node boot time, in unixtime.", value=self._boot_time)
        now = time.time()
        yield GaugeMetricFamily(
            "node_time_seconds", "System time in seconds since epoch (1970).", value=now)
        local = time.localtime(now)
        zone = GaugeMetricFamily(
            "node_time_zone_offset_seconds", "System time zone offset in seconds.",
            labels=["time_zone"])
        zone.add_metric((local.tm_zone,), float(local.tm_gmtoff))
        yield zone
        uname = GaugeMetricFamily(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            labels=list(UNAME_LABELS))
        uname.add_metric([self._uname[k] for k in UNAME_LABELS], 1.0)
        yield uname
        if self._os_release is not None:
            yield from self._os_families(self._os_release)

    @staticmethod
    def _os_families(release: dict[str, str]) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "node_os_info",
            "A metric with a constant '1' value labeled by " + ", ".join(OS_INFO_LABELS) + ".",
            labels=list(OS_INFO_LABELS))
        info.add_metric([release.get(k, "") for k in OS_INFO_LABELS], 1.0)
        yield info
        number = os_version_number(release.get("version_id", ""))
        if number is not None:
            version = GaugeMetricFamily(
                "node_os_version", "Metric containing the major.minor part of the OS version.",
                labels=["id", "id_like", "name"])
            version.add_metric([release.get("id", ""), release.get("id_like", ""),
                                release.get("name", "")], number)
            yield version
