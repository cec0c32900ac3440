"""Targets from ``static_configs`` and ``file_sd_configs``, with their labels.

File SD reads Prometheus's format (a JSON or YAML list of ``{targets, labels}``); a file that
cannot be read or parsed keeps its previous targets, as Prometheus does, and says why.
Targets that ``relabel_configs`` drop are kept aside with the labels they were discovered
with, so /api/v1/targets can show why a target is missing, as Prometheus does.
"""

from __future__ import annotations

import glob
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from watchkeeper.config import Config, ScrapeConfig, parse_duration_seconds

from .relabel import relabel

log = logging.getLogger("watchkeeper.scrape")


@dataclass
class Target:
    """One endpoint to scrape: its job's config and its final target labels."""

    job: ScrapeConfig
    labels: dict[str, str]  # job, instance and static/file labels after relabel_configs
    discovered: dict[str, str] = field(default_factory=dict)  # after relabel_configs
    interval: float = 15.0
    timeout: float = 10.0
    sd_labels: dict[str, str] = field(default_factory=dict)  # before relabel_configs

    @property
    def key(self) -> tuple[str, str]:
        return self.job.job_name, self.url

    @property
    def url(self) -> str:
        """What is fetched, query included (Prometheus's scrapeUrl)."""
        address = self.discovered["__address__"]
        path = self.discovered.get("__metrics_path__", self.job.metrics_path)
        scheme = self.discovered.get("__scheme__", self.job.scheme)
        query = urlencode(self.params, doseq=True)
        return f"{scheme}://{address}{path}" + (f"?{query}" if query else "")

    @property
    def params(self) -> dict[str, list[str]]:
        """The job's ``params``, each ``__param_<name>`` label replacing its first value."""
        params = {name: list(values) for name, values in self.job.params.items()}
        for name, value in self.discovered.items():
            if name.startswith("__param_"):
                values = params.setdefault(name.removeprefix("__param_"), [])
                values[:1] = [value]
        return params


class FileSD:
    """Remembers the last good content of every file SD file."""

    def __init__(self) -> None:
        self._last: dict[str, list[dict]] = {}
        self.errors: dict[str, str] = {}

    def groups(self, patterns: list[str]) -> list[dict]:
        out: list[dict] = []
        for pattern in patterns:
            for path in sorted(glob.glob(pattern)) or [pattern]:
                out.extend(self._read(path))
        return out

    def _read(self, path: str) -> list[dict]:
        try:
            text = Path(path).read_text(encoding="utf-8")
            if path.endswith((".yml", ".yaml")):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
            if not isinstance(data, list) or not all(
                    isinstance(g, dict) and isinstance(g.get("targets", []), list) for g in data):
                raise ValueError("expected a list of {targets: [...], labels: {...}}")
            self._last[path] = data
            self.errors.pop(path, None)
        except (OSError, ValueError, UnicodeDecodeError) as e:
            message = f"file_sd {path}: {e}"
            if self.errors.get(path) != message:
                log.warning("%s (keeping its previous targets)", message)
            self.errors[path] = message
        except Exception as e:  # YAML errors
            self.errors[path] = f"file_sd {path}: {' '.join(str(e).split())}"
        return self._last.get(path, [])


@dataclass
class DroppedTarget:
    """A discovered target that relabel_configs dropped (or left without an address)."""

    job_name: str
    sd_labels: dict[str, str]

    def to_api(self) -> dict[str, Any]:
        return {"discoveredLabels": dict(sorted(self.sd_labels.items()))}


@dataclass
class Discovery:
    """Every target of every job: those to scrape and those relabeling dropped."""

    active: list[Target]
    dropped: list[DroppedTarget]


def _format_seconds(seconds: float) -> str:
    """A duration as Prometheus writes it in ``__scrape_interval__`` (15s, 1m30s, 500ms)."""
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    parts = [(s // 3600, "h"), (s % 3600 // 60, "m"), (s % 60, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


def _interval_and_timeout(discovered: dict[str, str]) -> tuple[float, float]:
    interval = parse_duration_seconds(discovered["__scrape_interval__"])
    timeout = parse_duration_seconds(discovered["__scrape_timeout__"])
    if interval <= 0:
        raise ValueError("scrape interval must be above zero")
    if timeout <= 0:
        raise ValueError("scrape timeout must be above zero")
    if timeout > interval:
        raise ValueError(f"scrape timeout {discovered['__scrape_timeout__']} cannot be greater "
                         f"than scrape interval {discovered['__scrape_interval__']}")
    return interval, timeout


def discover(config: Config, file_sd: FileSD) -> Discovery:
    """Every target of every job, deduplicated by (job, URL), and the dropped ones."""
    targets: dict[tuple[str, str], Target] = {}
    dropped: list[DroppedTarget] = []
    for job in config.scrape_configs:
        interval, timeout = config.interval_of(job), config.timeout_of(job)
        groups = [{"targets": s.targets, "labels": s.labels} for s in job.static_configs]
        for sd in job.file_sd_configs:
            groups.extend(file_sd.groups(sd.files))
        for group in groups:
            for address in group.get("targets") or []:
                base = {"job": job.job_name, "__address__": str(address),
                        "__metrics_path__": job.metrics_path, "__scheme__": job.scheme,
                        "__scrape_interval__": _format_seconds(interval),
                        "__scrape_timeout__": _format_seconds(timeout),
                        **{str(k): str(v) for k, v in (group.get("labels") or {}).items()}}
                for name, values in job.params.items():
                    if values:
                        base[f"__param_{name}"] = values[0]
                discovered = relabel(base, job.relabel_configs)
                if discovered is None or not discovered.get("__address__"):
                    dropped.append(DroppedTarget(job.job_name, base))
                    continue
                labels = {k: v for k, v in discovered.items() if not k.startswith("__")}
                labels.setdefault("instance", discovered["__address__"])
                try:  # relabel_configs may set these per target, as in Prometheus
                    every, within = _interval_and_timeout(discovered)
                except ValueError as e:
                    log.warning("target %s of job %s not created: %s",
                                discovered["__address__"], job.job_name, e)
                    continue
                target = Target(job, labels, discovered, every, within, base)
                targets.setdefault(target.key, target)
    return Discovery(list(targets.values()), dropped)


def resolve_targets(config: Config, file_sd: FileSD) -> list[Target]:
    """The targets to scrape (see ``discover`` for the dropped ones too)."""
    return discover(config, file_sd).active
