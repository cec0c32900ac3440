"""The building blocks the config's sections share: durations, sizes, credentials, TLS and
relabelling, each validated as Prometheus validates it."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")



def parse_duration_seconds(value: Any) -> float:
    """``"1m30s"`` -> 90.0; numbers are seconds already."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 15s or 1m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    text = str(value).strip()
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not a valid duration: {text!r} (expected e.g. 15s, 1m30s, 2h)")
    return total


def parse_size_bytes(value: Any) -> int:
    """``"10MB"`` -> 10_000_000; ``0`` means no limit."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"not a valid size: {value!r} (expected bytes or e.g. 10MB, 512KiB)")
    return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])


Duration = Annotated[float, BeforeValidator(parse_duration_seconds)]
Size = Annotated[int, BeforeValidator(parse_size_bytes)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BasicAuth(_Model):
    username: str
    password: SecretStr | None = None
    password_file: str | None = None


class TLSConfig(_Model):
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False


class Authorization(_Model):
    type: str = "Bearer"
    credentials: SecretStr | None = None
    credentials_file: str | None = None


RelabelAction = Literal["replace", "keep", "drop", "labeldrop", "labelkeep", "labelmap",
                        "hashmod"]


class RelabelConfig(_Model):
    source_labels: list[str] = Field(default_factory=list)
    separator: str = ";"
    regex: str = "(.*)"
    target_label: str | None = None
    replacement: str = "$1"
    action: RelabelAction = "replace"
    modulus: int = Field(0, ge=0)  # hashmod only: the number of shards

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"invalid regex {v!r}: {e}") from None
        return v

    @model_validator(mode="after")
    def _needs_target(self) -> RelabelConfig:
        if self.action == "replace" and not self.target_label:
            raise ValueError("relabel action 'replace' needs a target_label")
        if self.action in ("keep", "drop") and not self.source_labels:
            raise ValueError(f"relabel action {self.action!r} needs source_labels")
        if self.action == "hashmod" and (not self.target_label or not self.modulus):
            raise ValueError("relabel action 'hashmod' needs a target_label and a modulus "
                             "above zero")
        return self
