"""A process is alive: found by name (at least ``min_count`` of them) or by pid file."""

from __future__ import annotations

import os
from typing import Any

from ..check import Check, slug
from ..model import CheckError, Outcome, Status


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _pids_named(name: str) -> list[int]:
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        found = []
        for p in psutil.process_iter(["name", "cmdline"]):
            cmdline = p.info.get("cmdline") or []
            if p.info.get("name") == name or (cmdline and os.path.basename(cmdline[0]) == name):
                found.append(p.pid)
        return found
    if not os.path.isdir("/proc"):
        raise CheckError("finding processes by name needs psutil: "
                         "pip install 'watchkeeper[system]'")
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
        except OSError:
            continue
        if name in (comm, os.path.basename(argv0)):
            found.append(int(entry))
    return found


class ProcessCheck(Check):
    type = "process"

    def __init__(
        self,
        *,
        process_name: str | None = None,
        pid_file: str | None = None,
        min_count: int = 1,
        **common: Any,
    ) -> None:
        if (process_name is None) == (pid_file is None):
            raise ValueError("give exactly one of process_name or pid_file")
        target = process_name or os.path.basename(pid_file or "")
        common.setdefault("name", slug(f"process-{target}"))
        super().__init__(**common)
        self.process_name, self.pid_file, self.min_count = process_name, pid_file, min_count

    def check(self) -> Outcome:
        if self.pid_file is not None:
            try:
                with open(self.pid_file) as f:
                    pid = int(f.read().split()[0])
            except (OSError, ValueError, IndexError) as e:
                raise CheckError(f"cannot read a pid from {self.pid_file}: "
                                 f"{getattr(e, 'strerror', None) or e}") from None
            if not _pid_alive(pid):
                raise CheckError(f"process {pid} from {self.pid_file} is not running")
            return Outcome(Status.HEALTHY, f"process {pid} from {self.pid_file} is running",
                           observed_value=pid, measurement="pid", component_type="system")
        pids = _pids_named(self.process_name or "")
        count = len(pids)
        status = Status.HEALTHY if count >= self.min_count else Status.UNHEALTHY
        shown = ", ".join(map(str, sorted(pids)[:5])) + (", ..." if count > 5 else "")
        details = (f"{count} process(es) named {self.process_name!r}"
                   + (f": {shown}" if pids else "")
                   + ("" if status is Status.HEALTHY else f", expected at least {self.min_count}"))
        return Outcome(status, details, observed_value=count, observed_unit="processes",
                       measurement="count", component_type="system")
