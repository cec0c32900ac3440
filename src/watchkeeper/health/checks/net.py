"""Network checks: a TCP port accepts connections; a DNS name resolves (as expected)."""

from __future__ import annotations

import socket
import time
from typing import Any, Literal

from ..check import Check, slug
from ..model import CheckError, Outcome, Status
from . import ratio_status


def connect_error(host: str, port: int, error: OSError) -> CheckError:
    """A plain-words connection failure: refused, timed out, unreachable, unknown host."""
    if isinstance(error, ConnectionRefusedError):
        why = "connection refused (nothing listens there)"
    elif isinstance(error, TimeoutError | socket.timeout):
        why = "connection timed out"
    elif isinstance(error, socket.gaierror):
        why = f"cannot resolve host ({error.strerror or error})"
    else:
        why = error.strerror or str(error)
    return CheckError(f"cannot connect to {host}:{port}: {why}")


class TcpCheck(Check):
    """Connects to ``host:port``; degraded when connecting takes longer than a threshold."""

    type = "tcp"

    def __init__(
        self, *, host: str, port: int, degraded_latency: float | None = None, **common: Any
    ) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"port must be in 1..65535, got {port!r}")
        common.setdefault("name", slug(f"tcp-{host}-{port}"))
        super().__init__(**common)
        self.host, self.port, self.degraded_latency = host, port, degraded_latency

    def check(self) -> Outcome:
        t0 = time.perf_counter()
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout):
                pass
        except OSError as e:
            raise connect_error(self.host, self.port, e) from None
        latency = time.perf_counter() - t0
        return Outcome(
            Status(ratio_status(latency, self.degraded_latency, None)),
            f"{self.host}:{self.port} accepted a connection in {latency * 1000:.1f} ms",
            observed_value=round(latency * 1000, 3),
            observed_unit="ms",
            measurement="connectTime",
            component_type="component",
        )


_FAMILIES = {"any": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


class DnsCheck(Check):
    """Resolves ``hostname``; with ``expected``, every expected address must be among them."""

    type = "dns"

    def __init__(
        self,
        *,
        hostname: str,
        expected: list[str] | None = None,
        family: Literal["any", "ipv4", "ipv6"] = "any",
        **common: Any,
    ) -> None:
        common.setdefault("name", slug(f"dns-{hostname}"))
        super().__init__(**common)
        self.hostname, self.expected, self.family = hostname, expected, family

    def check(self) -> Outcome:
        t0 = time.perf_counter()
        try:
            infos = socket.getaddrinfo(self.hostname, None, _FAMILIES[self.family],
                                       socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise CheckError(f"cannot resolve {self.hostname}: {e.strerror or e}") from None
        latency = time.perf_counter() - t0
        addresses = sorted({info[4][0] for info in infos})
        missing = [a for a in (self.expected or ()) if a not in addresses]
        if missing:
            return Outcome(
                Status.UNHEALTHY,
                f"{self.hostname} resolves to {', '.join(addresses)}, "
                f"not to expected {', '.join(missing)}",
                observed_value=addresses,
                measurement="addresses",
                component_type="component",
            )
        return Outcome(
            Status.HEALTHY,
            f"{self.hostname} -> {', '.join(addresses)} in {latency * 1000:.1f} ms",
            observed_value=addresses,
            measurement="addresses",
            component_type="component",
        )
