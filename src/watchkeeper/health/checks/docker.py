"""Docker daemon over its unix socket: ``/_ping`` and how many containers run.

An absent daemon is reported degraded (configurable), never as a crash of the check.
"""

from __future__ import annotations

import json
import os
from typing import Any, Literal

from watchkeeper.system.docker import docker_request, docker_socket_path

from ..check import Check
from ..model import Outcome, Status


class DockerCheck(Check):
    type = "docker"

    def __init__(
        self,
        *,
        socket_path: str | None = None,
        absent: Literal["degraded", "unhealthy"] = "degraded",
        **common: Any,
    ) -> None:
        common.setdefault("name", "docker")
        super().__init__(**common)
        self.socket_path = socket_path or docker_socket_path()  # DOCKER_HOST, or Docker's
        self.absent = Status(absent)

    def _get(self, path: str) -> tuple[int, bytes]:
        return docker_request(self.socket_path, path, self.timeout)

    def check(self) -> Outcome:
        if not os.path.exists(self.socket_path):
            return Outcome(self.absent, f"docker daemon not reachable: {self.socket_path} "
                           f"does not exist", component_type="component")
        try:
            code, _ = self._get("/_ping")
            if code != 200:
                return Outcome(Status.UNHEALTHY, f"docker /_ping answered {code}",
                               component_type="component")
            _, listing = self._get("/containers/json?all=1")
            containers = json.loads(listing)
        except (OSError, ValueError) as e:
            return Outcome(self.absent, f"docker daemon not reachable at {self.socket_path}: "
                           f"{getattr(e, 'strerror', None) or e}", component_type="component")
        running = sum(1 for c in containers if c.get("State") == "running")
        return Outcome(Status.HEALTHY, f"docker answers; {running} of {len(containers)} "
                       f"containers running", observed_value=running,
                       observed_unit="containers", measurement="containers",
                       component_type="component")
