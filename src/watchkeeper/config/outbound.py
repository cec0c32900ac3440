"""Where the server sends what it stores: remote-write and OTLP endpoints, one shape each
as prometheus.yml and the OTLP exporters have it, one validation for what they share."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from .fields import Authorization, BasicAuth, Duration, RelabelConfig, TLSConfig, _Model


class QueueConfig(_Model):
    """Prometheus's queue_config; ``capacity`` bounds the samples read ahead in memory (the
    backlog itself waits on disk)."""

    capacity: int = Field(10000, ge=1)
    min_shards: int = Field(1, ge=1)
    max_shards: int = Field(50, ge=1)
    max_samples_per_send: int = Field(2000, ge=1)
    batch_send_deadline: Duration = 5.0
    min_backoff: Duration = 0.03
    max_backoff: Duration = 5.0
    retry_on_http_429: bool = False

    @model_validator(mode="after")
    def _shard_range(self) -> QueueConfig:
        if self.min_shards > self.max_shards:
            raise ValueError("queue_config min_shards must not exceed max_shards")
        return self


class MetadataConfig(_Model):
    """Prometheus's metadata_config: each family's type, help and unit, sent on its own
    every ``send_interval``."""

    send: bool = True
    send_interval: Duration = Field(60.0, gt=0)
    max_samples_per_send: int = Field(2000, ge=1)


class _Endpoint(_Model):
    """An HTTP endpoint with its credentials; ``section`` names it in errors."""

    section: ClassVar[str] = "endpoint"
    url: str
    name: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    write_relabel_configs: list[RelabelConfig] = Field(default_factory=list)
    queue_config: QueueConfig = Field(default_factory=QueueConfig)

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not re.match(r"^https?://[^/]", v):
            raise ValueError(f"{cls.section} url must be http(s)://..., not {v!r}")
        return v

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if v and not re.match(r"^[A-Za-z0-9_.-]+$", v):
            raise ValueError(f"{cls.section} name may hold only letters, digits, '_', '.', '-'")
        return v

    @model_validator(mode="after")
    def _one_auth(self) -> _Endpoint:
        if self.basic_auth and self.authorization:
            raise ValueError("at most one of basic_auth and authorization")
        return self


class RemoteWriteConfig(_Endpoint):
    section: ClassVar[str] = "remote_write"
    remote_timeout: Duration = 30.0
    metadata_config: MetadataConfig = Field(default_factory=MetadataConfig)


class OTLPExportConfig(_Endpoint):
    """One OTLP/HTTP metrics endpoint (``otlp_export``), for backends that take OTLP only.
    Retries follow OTLP/HTTP: 429, 502, 503, 504 and connection errors, nothing else."""

    section: ClassVar[str] = "otlp_export"
    # url: the full metrics URL, e.g. http://collector:4318/v1/metrics
    timeout: Duration = 10.0
    compression: Literal["gzip", "none"] = "gzip"
    resource_attributes: dict[str, str] = Field(default_factory=dict)
