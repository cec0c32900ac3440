"""Built-in checks, one module per family, imported only when a check of its type is made.

``CHECK_TYPES`` maps the ``type`` used in config files to the class implementing it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..check import Check
from ..model import CheckError
from ..params import ParameterError, did_you_mean, validate_parameters

CHECK_TYPES: dict[str, str] = {
    "disk": "system:DiskCheck",
    "memory": "system:MemoryCheck",
    "cpu_load": "system:CpuLoadCheck",
    "tcp": "net:TcpCheck",
    "dns": "net:DnsCheck",
    "http": "http:HttpCheck",
    "postgres": "postgres:PostgresCheck",
    "mysql": "mysql:MySQLCheck",
    "sqlite": "sqlite:SQLiteCheck",
    "redis": "redis:RedisCheck",
    "rabbitmq": "rabbitmq:RabbitMQCheck",
    "mqtt": "mqtt:MQTTCheck",
    "nats": "nats:NATSCheck",
    "docker": "docker:DockerCheck",
    "process": "process:ProcessCheck",
    "command": "command:CommandCheck",
}


def check_class(type_name: str) -> type[Check]:
    """The class for a check type; ``ParameterError`` naming the known types if unknown."""
    target = CHECK_TYPES.get(type_name) if isinstance(type_name, str) else None
    if target is None:
        known = ", ".join(sorted(CHECK_TYPES))
        raise ParameterError(f"unknown check type {type_name!r}"
                             f"{did_you_mean(type_name, CHECK_TYPES)} (known: {known})", "type")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), attr)


def create_check(type_name: str, parameters: Mapping[str, Any] | None = None,
                 **common: Any) -> Check:
    """A built-in check from its type, validated parameters and common settings."""
    cls = check_class(type_name)
    params = validate_parameters(cls, parameters or {})
    return cls(**params, **common)


def import_driver(module: str, extra: str) -> Any:
    """Import a database/broker driver, or fail the check saying which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise CheckError(
            f"driver {module!r} is not installed: pip install 'watchkeeper[{extra}]' ({e})"
        ) from None


def redact_url(url: str) -> str:
    """The URL with any password replaced, so details and logs never show secrets."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def ratio_status(value: float, degraded: float | None, unhealthy: float | None) -> str:
    """'unhealthy', 'degraded' or 'healthy' for a figure where higher is worse."""
    if unhealthy is not None and value >= unhealthy:
        return "unhealthy"
    if degraded is not None and value >= degraded:
        return "degraded"
    return "healthy"


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover
