"""Metric and label names as Prometheus accepts them, and exemplar label limits."""

from __future__ import annotations

import re

from .family import Exemplar

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABEL_RE = re.compile(r"^__")


def build_full_name(typ: str, name: str, namespace: str, subsystem: str, unit: str) -> str:
    if not name:
        raise ValueError("Metric name should not be empty")
    full = "".join(p + "_" for p in (namespace, subsystem) if p) + name
    if typ == "counter" and full.endswith("_total"):
        full = full[:-6]
    if unit and not full.endswith("_" + unit):
        full += "_" + unit
    if unit and typ in ("info", "stateset"):
        raise ValueError("Metric name is of a type that cannot have a unit: " + full)
    if not METRIC_NAME_RE.match(full):
        raise ValueError("invalid metric name " + full)
    return full


def validate_labelname(name: str) -> None:
    if not LABEL_NAME_RE.match(name):
        raise ValueError("Invalid label metric name: " + name)
    if RESERVED_LABEL_RE.match(name):
        raise ValueError("Reserved label metric name: " + name)


def validate_exemplar(labels: dict[str, str]) -> None:
    """OpenMetrics limits exemplar label sets to 128 UTF-8 characters."""
    runes = 0
    for k, v in labels.items():
        validate_labelname(k)
        runes += len(k) + len(v)
    if runes > 128:
        raise ValueError(
            f"Exemplar labels have {runes} UTF-8 characters, exceeding the limit of 128")


def make_exemplar(labels: dict[str, str], value: float, now: float) -> Exemplar:
    validate_exemplar(labels)
    return Exemplar(dict(labels), value, now)
