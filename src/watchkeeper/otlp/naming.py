"""OpenTelemetry names as Prometheus names, as the OpenTelemetry-to-Prometheus compatibility
specification says: characters Prometheus does not allow become ``_``, the unit becomes a
suffix (``s`` → ``_seconds``, ``By/s`` → ``_bytes_per_second``, ``{requests}`` dropped), a
monotonic sum ends in ``_total`` and a gauge of unit ``1`` in ``_ratio``.

Pure string functions: imported by the OTLP receiver and exporter alike.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds",
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes",
    "TBy": "terabytes", "m": "meters", "V": "volts", "A": "amperes", "J": "joules",
    "W": "watts", "g": "grams", "Cel": "celsius", "Hz": "hertz", "%": "percent",
}
PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week",
             "mo": "month", "y": "year"}

_NOT_NAME = re.compile(r"[^a-zA-Z0-9]+")
_ANNOTATION = re.compile(r"\{[^}]*\}")
_NOT_LABEL = re.compile(r"[^a-zA-Z0-9_]")


def _unit_words(unit: str) -> list[str]:
    """``By/s`` → ``["bytes", "per", "second"]``; annotations and ``1`` give nothing."""
    unit = _ANNOTATION.sub("", unit).strip()
    main, _, per = unit.partition("/")
    words: list[str] = []
    main, per = main.strip(), per.strip()
    if main and main != "1":
        words.extend(w for w in _NOT_NAME.split(UNITS.get(main, main)) if w)
    if per:
        per_words = [w for w in _NOT_NAME.split(PER_UNITS.get(per, per)) if w]
        if per_words:
            words.extend(["per", *per_words])
    return words


@lru_cache(maxsize=4096)
def metric_name(name: str, unit: str = "", kind: str = "gauge") -> str:
    """The Prometheus name of an OTLP metric; ``kind`` is ``counter`` (a monotonic sum),
    ``gauge``, ``histogram`` or ``summary``. A suffix already in the name is not repeated."""
    words = [w for w in _NOT_NAME.split(name) if w]
    for word in _unit_words(unit):
        if word not in words:
            words.append(word)
    if kind == "counter":
        words = [w for w in words if w != "total"] + ["total"]
    elif kind == "gauge" and unit.strip() == "1" and "ratio" not in words:
        words.append("ratio")
    out = "_".join(words) or "_"
    return "_" + out if out[0].isdigit() else out


@lru_cache(maxsize=4096)
def label_name(key: str) -> str:
    """An attribute key as a label name: ``http.method`` → ``http_method``, ``2xx`` →
    ``key_2xx``, ``_x`` → ``key_x`` (names starting ``__`` are Prometheus's own)."""
    out = _NOT_LABEL.sub("_", key) or "_"
    if out[0].isdigit():
        return "key_" + out
    if out.startswith("_") and not out.startswith("__"):
        return "key" + out
    return out


def attribute_text(value: Any) -> str:
    """An OTLP ``AnyValue`` as a label value: strings as they are, numbers and booleans as
    JSON writes them, arrays and maps as JSON."""
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        v = value.double_value
        return repr(v) if v == v and abs(v) != float("inf") else str(v)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return json.dumps(_plain(value), separators=(",", ":"), sort_keys=False)


def _plain(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    if kind in ("string_value", "bool_value", "int_value"):
        return getattr(value, kind)
    if kind == "double_value":
        v = value.double_value
        return v if v == v and abs(v) != float("inf") else str(v)
    return attribute_text(value) if kind else None


def labels_of(attributes: Any) -> dict[str, str]:
    """Attributes as labels; keys that become the same name are joined with ``;`` in the
    order of their original keys, as the specification says."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for kv in attributes:
        grouped.setdefault(label_name(kv.key), []).append((kv.key, attribute_text(kv.value)))
    return {name: ";".join(v for _, v in sorted(pairs)) if len(pairs) > 1 else pairs[0][1]
            for name, pairs in grouped.items()}
