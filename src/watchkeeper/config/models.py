"""The shape of ``watchkeeper serve``'s config: Prometheus's where Prometheus has one.

Durations are Prometheus duration strings (``15s``, ``1m30s``) or plain seconds; sizes are
bytes or ``10MB``/``512KiB``. Secrets are ``SecretStr`` so a dump or log line never shows them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from .fields import (
    BasicAuth,
    Duration,
    RelabelConfig,
    Size,
    TLSConfig,
    _Model,
)
from .outbound import OTLPExportConfig, RemoteWriteConfig


class GlobalConfig(_Model):
    scrape_interval: Duration = 15.0
    scrape_timeout: Duration = 10.0
    evaluation_interval: Duration = 15.0
    collect_interval: Duration = 5.0
    external_labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("collect_interval")
    @classmethod
    def _collect_floor(cls, v: float) -> float:
        if v < 1.0:
            raise ValueError("collect_interval must be at least 1s")
        return v


class StaticConfig(_Model):
    targets: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)


class FileSDConfig(_Model):
    files: list[str]
    refresh_interval: Duration = 300.0


class ScrapeConfig(_Model):
    job_name: str
    scrape_interval: Duration | None = None
    scrape_timeout: Duration | None = None
    metrics_path: str = "/metrics"
    scheme: Literal["http", "https"] = "http"
    params: dict[str, list[str]] = Field(default_factory=dict)
    honor_labels: bool = False
    honor_timestamps: bool = True
    sample_limit: int = Field(0, ge=0)
    body_size_limit: Size = 0
    basic_auth: BasicAuth | None = None
    bearer_token: SecretStr | None = None
    bearer_token_file: str | None = None
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    static_configs: list[StaticConfig] = Field(default_factory=list)
    file_sd_configs: list[FileSDConfig] = Field(default_factory=list)
    relabel_configs: list[RelabelConfig] = Field(default_factory=list)
    metric_relabel_configs: list[RelabelConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_auth(self) -> ScrapeConfig:
        if self.basic_auth and (self.bearer_token or self.bearer_token_file):
            raise ValueError("at most one of basic_auth, bearer_token and bearer_token_file")
        if self.bearer_token and self.bearer_token_file:
            raise ValueError("at most one of bearer_token and bearer_token_file")
        return self


class AgentStorageConfig(_Model):
    """Prometheus's ``--storage.agent.*``: every ``truncate_frequency``, series whose newest
    sample is older than the lowest timestamp every remote_write endpoint acknowledged
    (less ``min_wal_time``), and in any case older than ``max_wal_time``, are forgotten."""

    truncate_frequency: Duration = Field(2 * 3600.0, gt=0)
    min_wal_time: Duration = Field(300.0, ge=0)
    max_wal_time: Duration = Field(4 * 3600.0, gt=0)


class StorageConfig(_Model):
    path: str = "./watchkeeper-data"
    retention: Duration = 30 * 86400.0
    max_bytes: Size | None = None
    sync: Literal["always", "interval", "never"] = "interval"
    # agent: scrape, collect and forward only (Prometheus's agent mode): no local history,
    # the remote-write queues are the write-ahead log
    mode: Literal["tsdb", "agent"] = "tsdb"
    agent: AgentStorageConfig = Field(default_factory=AgentStorageConfig)


class QueryConfig(_Model):
    """Prometheus's --query.timeout, --query.max-samples, --query.max-concurrency."""

    timeout: Duration = Field(120.0, gt=0)
    max_samples: int = Field(50_000_000, ge=1)
    max_concurrency: int = Field(20, ge=1)  # more wait in a queue (restart to change)


class WebAuthConfig(_Model):
    bearer_tokens: list[SecretStr] = Field(default_factory=list)
    # username -> password hash (see ``watchkeeper serve --hash-password``)
    basic_auth_users: dict[str, SecretStr] = Field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.bearer_tokens or self.basic_auth_users)


class McpOAuthConfig(_Model):
    """``/mcp`` as an OAuth 2.1 resource server (the MCP authorization spec): tokens are
    checked by RFC 7662 introspection at the authorization server, must be issued for
    ``resource_url`` (their audience) and carry ``required_scopes``."""

    issuer_url: str  # the authorization server, advertised in the resource metadata
    introspection_url: str
    client_id: str = ""  # this server's credentials at the introspection endpoint
    client_secret: SecretStr = SecretStr("")
    resource_url: str | None = None  # the public URL of /mcp (default: the listen address)
    required_scopes: list[str] = Field(default_factory=list)


class McpConfig(_Model):
    """``/mcp`` (streamable HTTP): on by default; off localhost it needs web auth or an
    OAuth token verifier."""

    enabled: bool = True
    write: bool = False  # offer the write tools (silence, acknowledge), marked destructive
    tool_prefix: str = ""  # before every tool and prompt name (several instances, one client)
    allow: list[str] = Field(default_factory=list)  # offer only these tools (empty: all)
    oauth: McpOAuthConfig | None = None  # OAuth bearer tokens instead of web.auth at /mcp


class WebConfig(_Model):
    listen_address: str = "127.0.0.1:9797"
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    max_body_bytes: Size = 32 * 2**20  # also the cap on a body once decompressed
    max_labels_per_series: int = Field(512, ge=1)  # pushed series (remote write, import)
    max_label_value_bytes: Size = 64 * 2**10
    auth: WebAuthConfig = Field(default_factory=WebAuthConfig)
    mcp: McpConfig = Field(default_factory=McpConfig)

    @model_validator(mode="after")
    def _tls_pair(self) -> WebConfig:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("tls_cert_file and tls_key_file go together")
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen_address.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)

    @field_validator("listen_address")
    @classmethod
    def _address(cls, v: str) -> str:
        _host, sep, port = v.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"listen_address must be host:port, not {v!r}")
        return v


class RuleOverride(_Model):
    """What a config may change in one default rule (the alerting room checks the values)."""

    for_: Duration | None = Field(None, alias="for")
    keep_firing_for: Duration | None = None
    expr: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PerformanceConfig(_Model):
    """The overall score of the scraped pools, caches, breakers and queues: the statuses of
    ``/health/performance`` and, with ``ready``, a critical check ``/health/ready`` follows."""

    degraded_below: float = Field(70.0, ge=0, le=100)
    unhealthy_below: float = Field(40.0, ge=0, le=100)
    ready: bool = True
    interval: Duration = Field(15.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> PerformanceConfig:
        if self.unhealthy_below > self.degraded_below:
            raise ValueError("unhealthy_below cannot be above degraded_below")
        return self


class DefaultRulesConfig(_Model):
    enabled: bool = True
    disable: list[str] = Field(default_factory=list)
    override: dict[str, RuleOverride] = Field(default_factory=dict)


class ReportSchedule(_Model):
    """A report built on a cron schedule and sent to alerting receivers by name (email
    gets the HTML inline, Apprise the Markdown, a webhook a link to the stored page)."""

    name: str
    schedule: str  # cron: "0 8 * * mon", or @daily, @weekly ...
    timezone: str = "UTC"
    period: str = "7d"
    receivers: list[str] = Field(default_factory=list)
    title: str = ""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", v):
            raise ValueError("a report name is 1-64 letters, digits, '_', '.' or '-'")
        return v

    @model_validator(mode="after")
    def _schedule(self) -> ReportSchedule:
        from watchkeeper.reports.cron import parse_cron
        from watchkeeper.reports.period import parse_period

        parse_cron(self.schedule, self.timezone)  # CronError is a ValueError
        parse_period(self.period)
        return self


class AnomalyWatchConfig(_Model):
    """The server's own anomaly scoring (the analysis room's streaming scorer)."""

    enabled: bool = True
    interval: Duration = Field(30.0, gt=0)
    queries: list[str] | None = None  # None: every query the built-in dashboards chart
    max_series: int = Field(10_000, ge=1)
    record_top: int = Field(20, ge=0)  # series written as watchkeeper:anomaly_score


class CapacityResourceConfig(_Model):
    """A gauge with a limit whose time until full the server tracks, beside the built-in
    disks, inodes, memory, file descriptors and pools."""

    name: str = Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    used: str = Field(min_length=1)  # PromQL: what is used now
    limit: str = Field(min_length=1)  # PromQL with the same labels: the most there can be
    unit: str = "short"

    @field_validator("used", "limit")
    @classmethod
    def _promql(cls, value: str) -> str:
        from watchkeeper.promql.parser import parse

        try:
            parse(value)
        except Exception as e:
            raise ValueError(f"not PromQL: {e}") from None
        return value


class AnalysisConfig(_Model):
    anomaly: AnomalyWatchConfig = Field(default_factory=AnomalyWatchConfig)
    capacity_interval: Duration = Field(300.0, gt=0)  # watchkeeper:time_until_full_seconds
    capacity_resources: list[CapacityResourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> AnalysisConfig:
        from watchkeeper.analysis.resources import BUILTIN

        names = [r.name for r in BUILTIN] + [r.name for r in self.capacity_resources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"capacity_resources: name(s) used twice or built in: {dupes}")
        return self


class Config(_Model):
    global_: GlobalConfig = Field(default_factory=GlobalConfig, alias="global")
    scrape_configs: list[ScrapeConfig] = Field(default_factory=list)
    remote_write: list[RemoteWriteConfig] = Field(default_factory=list)
    otlp_export: list[OTLPExportConfig] = Field(default_factory=list)
    checks: Any = None  # validated by the health room's own parser (line-exact)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    query: QueryConfig = Field(default_factory=QueryConfig)
    collect_host: bool = True
    rule_files: list[str] = Field(default_factory=list)
    rule_packs: list[str] = Field(default_factory=list)  # alerting/packs/NAME.yml
    default_rules: DefaultRulesConfig = Field(default_factory=DefaultRulesConfig)
    performance: PerformanceConfig | None = None  # absent: the server's readiness ignores it
    # Alertmanager-shaped: alertmanagers, route, receivers, inhibit_rules,
    # maintenance_windows, delivery, resend_delay, external_url (the alerting room checks it)
    alerting: dict[str, Any] = Field(default_factory=dict)
    # inline dashboards and/or YAML file paths (globs), parsed by the dashboard room
    dashboards: Any = None
    reports: list[ReportSchedule] = Field(default_factory=list)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _unique_jobs(self) -> Config:
        seen: set[str] = set()
        for sc in self.scrape_configs:
            if sc.job_name in seen:
                raise ValueError(f"duplicate job_name {sc.job_name!r}")
            seen.add(sc.job_name)
        names = [rw.name for rw in self.remote_write if rw.name]
        if len(names) != len(set(names)):
            raise ValueError("remote_write names must be unique")
        names = [o.name for o in self.otlp_export if o.name]
        if len(names) != len(set(names)):
            raise ValueError("otlp_export names must be unique")
        reports = [r.name for r in self.reports]
        if len(reports) != len(set(reports)):
            raise ValueError("report names must be unique")
        receivers = {str(r.get("name", "")) for r in self.alerting.get("receivers") or []
                     if isinstance(r, dict)}
        for r in self.reports:
            unknown = [n for n in r.receivers if n not in receivers]
            if unknown:
                raise ValueError(f"report {r.name!r}: no receiver named "
                                 f"{', '.join(map(repr, unknown))} in alerting.receivers")
        if self.storage.mode == "agent" and not self.remote_write:
            raise ValueError("storage.mode agent forwards everything: it needs at least one "
                             "remote_write entry")
        return self

    def interval_of(self, sc: ScrapeConfig) -> float:
        return sc.scrape_interval or self.global_.scrape_interval

    def timeout_of(self, sc: ScrapeConfig) -> float:
        timeout = sc.scrape_timeout or self.global_.scrape_timeout
        return min(timeout, self.interval_of(sc))


# the sections' building blocks and the outbound endpoints live beside this module; they
# are importable from here as before
__all__ = ["Config", "OTLPExportConfig", "RemoteWriteConfig"]
