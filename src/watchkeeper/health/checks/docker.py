"""Docker daemon over its unix socket: ``/_ping`` and how many containers run.

An absent daemon is reported degraded (configurable), never as a crash of the check.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from typing import Any, Literal

from ..check import Check
from ..model import Outcome, Status


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class DockerCheck(Check):
    type = "docker"

    def __init__(
        self,
        *,
        socket_path: str = "/var/run/docker.sock",
        absent: Literal["degraded", "unhealthy"] = "degraded",
        **common: Any,
    ) -> None:
        common.setdefault("name", "docker")
        super().__init__(**common)
        self.socket_path, self.absent = socket_path, Status(absent)

    def _get(self, path: str) -> tuple[int, bytes]:
        conn = _UnixHTTPConnection(self.socket_path, self.timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

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
        except (OSError, http.client.HTTPException, ValueError) as e:
            return Outcome(self.absent, f"docker daemon not reachable at {self.socket_path}: "
                           f"{getattr(e, 'strerror', None) or e}", component_type="component")
        running = sum(1 for c in containers if c.get("State") == "running")
        return Outcome(Status.HEALTHY, f"docker answers; {running} of {len(containers)} "
                       f"containers running", observed_value=running,
                       observed_unit="containers", measurement="containers",
                       component_type="component")
