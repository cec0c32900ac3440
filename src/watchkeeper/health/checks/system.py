"""Host checks: disk space, memory and CPU load, with degraded and unhealthy levels.

Disk and load use the stdlib; memory uses psutil when installed and /proc/meminfo else.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from ..check import Check, slug
from ..model import CheckError, Outcome, Status
from . import human_bytes, ratio_status


class DiskCheck(Check):
    """Used ratio (as ``df`` computes it) and free bytes of the filesystem holding ``path``."""

    type = "disk"

    def __init__(
        self,
        *,
        path: str = "/",
        degraded_used: float = 0.85,
        unhealthy_used: float = 0.95,
        degraded_free_bytes: int | None = None,
        unhealthy_free_bytes: int | None = None,
        **common: Any,
    ) -> None:
        common.setdefault("name", "disk" if path == "/" else slug(f"disk{path.rstrip('/')}"))
        super().__init__(**common)
        self.path = path
        self.degraded_used, self.unhealthy_used = degraded_used, unhealthy_used
        self.degraded_free, self.unhealthy_free = degraded_free_bytes, unhealthy_free_bytes

    def check(self) -> Outcome:
        try:
            usage = shutil.disk_usage(self.path)
        except OSError as e:
            raise CheckError(f"cannot stat {self.path}: {e.strerror or e}") from None
        usable = usage.used + usage.free
        ratio = usage.used / usable if usable else 0.0
        status = ratio_status(ratio, self.degraded_used, self.unhealthy_used)
        if self.unhealthy_free is not None and usage.free <= self.unhealthy_free:
            status = "unhealthy"
        elif self.degraded_free is not None and usage.free <= self.degraded_free \
                and status == "healthy":
            status = "degraded"
        return Outcome(
            Status(status),
            f"{ratio:.1%} used, {human_bytes(usage.free)} free of {human_bytes(usage.total)}"
            f" on {self.path}",
            observed_value=round(ratio * 100, 2),
            observed_unit="percent",
            measurement="utilization",
            component_type="system",
        )


def _meminfo() -> tuple[int, int]:
    try:
        import psutil
    except ImportError:
        pass
    else:
        vm = psutil.virtual_memory()
        return vm.total, vm.available
    try:
        with open("/proc/meminfo") as f:
            fields = {k: int(v.split()[0]) * 1024 for k, v in
                      (line.split(":", 1) for line in f if ":" in line)}
        return fields["MemTotal"], fields["MemAvailable"]
    except (OSError, KeyError, ValueError):
        raise CheckError(
            "memory figures unavailable: pip install 'watchkeeper[system]'"
        ) from None


class MemoryCheck(Check):
    """Share of memory not available to new work (total minus available, over total)."""

    type = "memory"

    def __init__(
        self, *, degraded_used: float = 0.90, unhealthy_used: float = 0.97, **common: Any
    ) -> None:
        common.setdefault("name", "memory")
        super().__init__(**common)
        self.degraded_used, self.unhealthy_used = degraded_used, unhealthy_used

    def check(self) -> Outcome:
        total, available = _meminfo()
        ratio = (total - available) / total if total else 0.0
        return Outcome(
            Status(ratio_status(ratio, self.degraded_used, self.unhealthy_used)),
            f"{ratio:.1%} used, {human_bytes(available)} available of {human_bytes(total)}",
            observed_value=round(ratio * 100, 2),
            observed_unit="percent",
            measurement="utilization",
            component_type="system",
        )


class CpuLoadCheck(Check):
    """Load average per CPU over 1, 5 or 15 minutes."""

    type = "cpu_load"

    def __init__(
        self,
        *,
        minutes: int = 5,
        degraded_per_cpu: float = 1.5,
        unhealthy_per_cpu: float | None = 4.0,
        **common: Any,
    ) -> None:
        if minutes not in (1, 5, 15):
            raise ValueError(f"minutes must be 1, 5 or 15, got {minutes!r}")
        common.setdefault("name", "cpu_load")
        super().__init__(**common)
        self.minutes = minutes
        self.degraded, self.unhealthy = degraded_per_cpu, unhealthy_per_cpu

    def check(self) -> Outcome:
        try:
            loads = os.getloadavg()
        except OSError:
            raise CheckError("load average is not available on this system") from None
        cpus = os.cpu_count() or 1
        load = loads[(1, 5, 15).index(self.minutes)]
        per_cpu = load / cpus
        return Outcome(
            Status(ratio_status(per_cpu, self.degraded, self.unhealthy)),
            f"load {load:.2f} over {self.minutes} min on {cpus} CPUs ({per_cpu:.2f} per CPU)",
            observed_value=round(per_cpu, 3),
            observed_unit="load per cpu",
            measurement="load",
            component_type="system",
        )
