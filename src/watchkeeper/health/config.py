"""The ``checks:`` section of a YAML config: load, validate, build checks.

Every error names the file, the line and what is wrong, using PyYAML's node marks. The
section parser takes a YAML node, so a larger config (``watchkeeper serve``) can hand it
its own ``checks`` node and get the same messages. PyYAML is imported only here.

    checks:
      - type: http
        name: api
        parameters: {url: "https://api.example.com/health", expected_status: [200]}
        timeout: 3
        critical: true
        interval: 15
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .check import DEFAULT_INTERVAL, DEFAULT_TIMEOUT, Check
from .checks import check_class
from .params import ParameterError, did_you_mean, validate_parameters

ENTRY_KEYS = ("type", "name", "parameters", "timeout", "critical", "interval")


class ConfigError(ValueError):
    """A config problem at ``file:line:column``."""

    def __init__(self, message: str, file: str = "<config>", line: int | None = None,
                 column: int | None = None) -> None:
        self.message, self.file, self.line, self.column = message, file, line, column
        where = file if line is None else f"{file}:{line}" + (f":{column}" if column else "")
        super().__init__(f"{where}: {message}")


@dataclass
class CheckSpec:
    """One validated entry of ``checks:``; ``build()`` makes the check."""

    type: str
    parameters: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    critical: bool = True
    interval: float = DEFAULT_INTERVAL
    file: str = "<config>"
    line: int | None = None

    def build(self) -> Check:
        common: dict[str, Any] = {"timeout": self.timeout, "critical": self.critical,
                                  "interval": self.interval}
        if self.name is not None:
            common["name"] = self.name
        try:
            return check_class(self.type)(**self.parameters, **common)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"check {self.name or self.type!r}: {e}", self.file,
                              self.line) from None


class _Reader:
    """Turns nodes into values, pointing errors at the node they came from."""

    def __init__(self, loader: Any, file: str) -> None:
        self.loader, self.file = loader, file

    def error(self, node: Any, message: str) -> ConfigError:
        mark = getattr(node, "start_mark", None)
        if mark is None:
            return ConfigError(message, self.file)
        return ConfigError(message, self.file, mark.line + 1, mark.column + 1)

    def value(self, node: Any) -> Any:
        import yaml

        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            raise self.error(node, f"invalid value: {getattr(e, 'problem', None) or e}") \
                from None

    def mapping(self, node: Any, what: str) -> list[tuple[str, Any, Any]]:
        """(key, key node, value node) of a mapping node; duplicate keys are an error."""
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping, not {_node_kind(node)}")
        seen: set[str] = set()
        items = []
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise self.error(key_node, f"{what}: keys must be strings, not {key!r}")
            if key in seen:
                raise self.error(key_node, f"{what}: duplicate key {key!r}")
            seen.add(key)
            items.append((key, key_node, value_node))
        return items


def _node_kind(node: Any) -> str:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if node is None or getattr(node, "tag", "").endswith(":null"):
        return "empty"
    return f"the scalar {getattr(node, 'value', node)!r}"


def _number(reader: _Reader, node: Any, what: str) -> float:
    value = reader.value(node)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise reader.error(node, f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)


def parse_entry(reader: _Reader, node: Any, index: int) -> CheckSpec:
    where = f"checks[{index}]"
    fields = {key: (key_node, value_node)
              for key, key_node, value_node in reader.mapping(node, where)}
    for key, (key_node, _) in fields.items():
        if key not in ENTRY_KEYS:
            raise reader.error(key_node, f"{where}: unknown key {key!r}"
                               f"{did_you_mean(key, ENTRY_KEYS)} "
                               f"(expected {', '.join(ENTRY_KEYS)}; check settings go "
                               f"under 'parameters')")
    if "type" not in fields:
        raise reader.error(node, f"{where}: missing 'type'")
    type_node = fields["type"][1]
    type_name = reader.value(type_node)
    try:
        cls = check_class(type_name)
    except ParameterError as e:
        raise reader.error(type_node, f"{where}: {e}") from None
    spec = CheckSpec(type=type_name, file=reader.file, line=node.start_mark.line + 1)
    if "name" in fields:
        name = reader.value(fields["name"][1])
        if not isinstance(name, str) or not name:
            raise reader.error(fields["name"][1], f"{where}: name must be a non-empty string")
        spec.name = name
    if "timeout" in fields:
        spec.timeout = _number(reader, fields["timeout"][1], f"{where}: timeout")
    if "interval" in fields:
        spec.interval = _number(reader, fields["interval"][1], f"{where}: interval")
    if "critical" in fields:
        critical = reader.value(fields["critical"][1])
        if not isinstance(critical, bool):
            raise reader.error(fields["critical"][1],
                               f"{where}: critical must be true or false, got {critical!r}")
        spec.critical = critical
    params_node = fields.get("parameters", (None, None))[1]
    if params_node is not None and _node_kind(params_node) != "empty":
        items = reader.mapping(params_node, f"{where}.parameters")
        params = {key: reader.value(value_node) for key, _, value_node in items}
        key_nodes = {key: key_node for key, key_node, _ in items}
        try:
            spec.parameters = validate_parameters(cls, params)
        except ParameterError as e:
            at = key_nodes.get(e.key or "", params_node)
            raise reader.error(at, f"{where} ({type_name}): {e}") from None
    else:
        try:
            validate_parameters(cls, {})
        except ParameterError as e:
            raise reader.error(node, f"{where} ({type_name}): {e}") from None
    return spec


def parse_checks_node(node: Any, loader: Any, file: str = "<config>") -> list[CheckSpec]:
    """Validate a ``checks:`` sequence node (reusable by any config that embeds it)."""
    import yaml

    reader = _Reader(loader, file)
    if not isinstance(node, yaml.SequenceNode):
        raise reader.error(node, f"'checks' must be a list of checks, not {_node_kind(node)}")
    specs = [parse_entry(reader, item, i) for i, item in enumerate(node.value)]
    seen: dict[str, CheckSpec] = {}
    for spec, item in zip(specs, node.value, strict=True):
        check = spec.build()
        if check.name in seen:
            raise reader.error(item, f"duplicate check name {check.name!r} (first at line "
                               f"{seen[check.name].line}); give each check a unique 'name'")
        seen[check.name] = spec
        spec.name = check.name
    return specs


@contextmanager
def yaml_document(text: str, file: str = "<config>") -> Iterator[tuple[Any, Any]]:
    """The loader and root node (None when empty) of one YAML document.

    Syntax errors become ``ConfigError`` at file:line:column; the serve config and the
    checks config share this so both report bad YAML the same way.
    """
    import yaml

    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as e:  # unprintable characters are refused up front
        raise ConfigError(f"invalid YAML: {' '.join(str(e).split())}", file) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            raise ConfigError(f"invalid YAML: {e.problem or e.context}", file,
                              mark.line + 1 if mark else None,
                              mark.column + 1 if mark else None) from None
        except yaml.YAMLError as e:
            raise ConfigError(f"invalid YAML: {e}", file) from None
        yield loader, root
    finally:
        loader.dispose()


def parse_config(text: str, file: str = "<config>") -> list[CheckSpec]:
    """The check specs of a YAML document whose top level has a ``checks:`` list."""
    with yaml_document(text, file) as (loader, root):
        if root is None:
            raise ConfigError("the config is empty; expected a 'checks:' list", file)
        reader = _Reader(loader, file)
        for key, _, value_node in reader.mapping(root, "the config"):
            if key == "checks":
                return parse_checks_node(value_node, loader, file)
        raise reader.error(root, "no 'checks:' list in the config")


def read_config_text(path: str | Path) -> str:
    """A config file's text; an unreadable file is a ``ConfigError`` naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the config: {getattr(e, 'strerror', None) or e}",
                          str(path)) from None


def load_config(path: str | Path) -> list[CheckSpec]:
    """Read and validate a config file; ``ConfigError`` names the file and line."""
    return parse_config(read_config_text(path), str(path))


def build_checks(specs: list[CheckSpec]) -> list[Check]:
    return [spec.build() for spec in specs]


def default_checks() -> list[Check]:
    """What ``watchkeeper health`` runs without a config: disk of /, memory, CPU load."""
    from .checks.system import CpuLoadCheck, DiskCheck, MemoryCheck

    return [DiskCheck(path="/"), MemoryCheck(), CpuLoadCheck()]
