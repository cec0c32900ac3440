"""Container counts per state from the Docker Engine API on its unix socket.

A host without Docker (no socket, or nobody answering) simply has no docker_ families:
that is not an error. The call is one short HTTP request with a tight timeout so a stuck
daemon cannot stall a scrape.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

from watchkeeper.metrics.family import GaugeMetricFamily, Metric

DEFAULT_SOCKET = "/var/run/docker.sock"
# Every state the Engine API reports for a container.
CONTAINER_STATES = ("created", "running", "paused", "restarting", "removing", "exited", "dead")


def docker_socket_path() -> str:
    """The socket named by DOCKER_HOST (``unix://...``), else Docker's default."""
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://"):]
    return DEFAULT_SOCKET


def docker_request(socket_path: str, path: str, timeout: float) -> tuple[int, bytes]:
    """GET ``path`` from the Engine API: (status, body). HTTP/1.0 so the daemon answers
    unchunked and closes; a socket nobody answers on raises OSError."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(socket_path)
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or not status[1].isdigit():
        raise OSError(f"not an HTTP answer from docker: {head[:60]!r}")
    return int(status[1]), body


def container_states(socket_path: str, timeout: float = 1.0) -> dict[str, int] | None:
    """``{state: count}`` for every known state, or None when Docker is not there."""
    if not os.path.exists(socket_path):
        return None
    try:
        code, body = docker_request(socket_path, "/containers/json?all=1", timeout)
        containers = json.loads(body) if code == 200 else None
    except (OSError, ValueError):
        return None
    if not isinstance(containers, list):
        return None
    counts = dict.fromkeys(CONTAINER_STATES, 0)
    for c in containers:
        state = str(c.get("State", "")).lower() or "unknown"
        counts[state] = counts.get(state, 0) + 1
    return counts


class DockerCollector:
    """``docker_containers_running`` and ``docker_containers{state}``."""

    def __init__(self, socket_path: str | None = None, timeout: float = 1.0) -> None:
        self._socket_path = socket_path or docker_socket_path()
        self._timeout = timeout

    def collect(self) -> Iterator[Metric]:
        counts = container_states(self._socket_path, self._timeout)
        if counts is None:
            return
        yield GaugeMetricFamily(
            "docker_containers_running", "Number of running Docker containers.",
            value=float(counts.get("running", 0)))
        per_state = GaugeMetricFamily(
            "docker_containers", "Number of Docker containers in each state.",
            labels=["state"])
        for state, count in sorted(counts.items()):
            per_state.add_metric((state,), float(count))
        yield per_state
