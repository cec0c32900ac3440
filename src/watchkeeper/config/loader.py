"""Read a config file and validate it, naming the file, the line and what is wrong.

The YAML is composed to nodes first, so a pydantic error's location (``scrape_configs.0.
scrape_interval``) maps back to the line it came from. The ``checks:`` list goes to the health
room's own parser, which already reports lines.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from watchkeeper.health.config import (
    CheckSpec,
    ConfigError,
    parse_checks_node,
    read_config_text,
    yaml_document,
)

from .models import Config

__all__ = ["ConfigError", "LoadedConfig", "default_config", "load_config", "parse_config"]


@dataclass
class LoadedConfig:
    """A validated config with the health checks it names (None: the default checks)."""

    config: Config
    checks: list[CheckSpec] | None = None
    dashboards: list[Any] = field(default_factory=list)  # configured ones, built-ins apart
    file: str | None = None
    text: str = ""
    warnings: list[str] = field(default_factory=list)


def default_config() -> LoadedConfig:
    """What ``watchkeeper serve`` runs with no file: host metrics, its own, default checks."""
    return LoadedConfig(Config())


def _node_at(root: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    """The deepest node along a pydantic error location."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            key = "global" if part == "global_" else part
            for k, v in node.value:
                if k.value == key:
                    node = v
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model a location's last key belongs to, following lists and optionals."""
    model: Any = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = model.model_fields.get("global_" if part == "global" else part)
        if info is None:
            return None
        model = _inner_model(info.annotation)
        if model is None:
            return None
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _unknown_field(loc: tuple[Any, ...]) -> str:
    message = "unknown field"
    model = _model_at(loc)
    if model is not None and loc and isinstance(loc[-1], str):
        names = [info.alias or name for name, info in model.model_fields.items()]
        close = difflib.get_close_matches(loc[-1], names, n=1, cutoff=0.6)
        if close:
            return f"{message}; did you mean {close[0]!r}?"
    return message + " (check its spelling and indentation)"


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
    loc = loc.replace("global_", "global")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = _unknown_field(tuple(error["loc"]))
    return f"{loc}: {message}" if loc else message


def parse_config(text: str, file: str = "<config>") -> LoadedConfig:
    """Validate YAML text; raise ``ConfigError`` at the first problem's file:line, its
    message listing every problem in file order."""
    with yaml_document(text, file) as (loader, root):
        if root is None:
            return LoadedConfig(Config(), file=file, text=text)
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError("the config must be a mapping of sections (global, "
                              "scrape_configs, checks, storage, web)", file,
                              root.start_mark.line + 1)
        checks = None
        for key, value in root.value:
            if key.value == "checks" and not (value.tag.endswith(":null")):
                checks = parse_checks_node(value, loader, file)
        data = loader.construct_document(root)
    try:
        config = Config.model_validate(data)
    except ValidationError as e:  # every problem, each at its own line
        located = []
        for error in e.errors():
            mark = _node_at(root, error["loc"]).start_mark
            located.append((mark.line + 1, mark.column + 1, _describe(error)))
        located.sort()
        line, column, first = located[0]
        others = "".join(f"\n{file}:{ln}:{col}: {text}" for ln, col, text in located[1:])
        raise ConfigError(first + others, file, line, column) from None
    if (config.rule_files or config.alerting or config.rule_packs
            or "default_rules" in config.model_fields_set):
        _check_alerting(config, root, file)
    loaded = LoadedConfig(config, checks, _dashboards(config, root, file), file, text)
    for sc in config.scrape_configs:
        if sc.scrape_timeout and sc.scrape_interval and sc.scrape_timeout > sc.scrape_interval:
            loaded.warnings.append(f"job {sc.job_name!r}: scrape_timeout is longer than "
                                   "scrape_interval; it is cut to the interval")
    return loaded


def alerting_section(config: Config) -> dict[str, Any]:
    """What the alerting room takes: Prometheus's rule settings plus the alerting section."""
    return {"rule_files": list(config.rule_files), "rule_packs": list(config.rule_packs),
            "default_rules": config.default_rules.model_dump(by_alias=True, exclude_none=True),
            "evaluation_interval": config.global_.evaluation_interval,
            "external_labels": dict(config.global_.external_labels), **config.alerting}


def _check_alerting(config: Config, root: yaml.Node, file: str) -> None:
    from watchkeeper.alerting.service import check_alerting_config

    base = Path(file).parent if file != "<config>" else Path(".")
    problems = check_alerting_config(alerting_section(config), base)
    if problems:
        key = next((k for k in ("default_rules", "rule_packs") if problems[0].startswith(k)),
                   "rule_files" if any("rule" in p for p in problems) else "alerting")
        node = _node_at(root, (key,))
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        first = problems[0] if problems[0].startswith(key) else f"{key}: {problems[0]}"
        raise ConfigError(f"{first}{more}", file, node.start_mark.line + 1,
                          node.start_mark.column + 1)


def _dashboards(config: Config, root: yaml.Node, file: str) -> list[Any]:
    if config.dashboards is None:
        return []
    from watchkeeper.dashboard.panels import DashboardError, dashboards_from_config

    base = Path(file).parent if file != "<config>" else Path(".")
    try:
        return dashboards_from_config(config.dashboards, base)
    except (DashboardError, ValueError, OSError) as e:  # e.g. an empty glob pattern
        mark = _node_at(root, ("dashboards",)).start_mark
        message = str(e) if isinstance(e, DashboardError) else f"dashboards: {e}"
        raise ConfigError(message, file, mark.line + 1, mark.column + 1) from None


def load_config(path: str | Path) -> LoadedConfig:
    """Read and validate a config file."""
    return parse_config(read_config_text(path), str(path))
