"""Render any registry or collector as Prometheus text 0.0.4 or OpenMetrics 1.0.

Two paths produce the same bytes: a generic one that walks the families any ``collect()``
yields (custom collectors, restricted registries), and a fast one for collectors that can
write their own lines (our metric types keep each series' label string rendered, so
rendering them is a loop of string joins). A collector opts into the fast path by defining
``_render_text(out)`` and ``_render_openmetrics(out)`` appending finished lines to ``out``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..metrics.family import Metric
from ..metrics.registry import REGISTRY, CollectorRegistry
from ..metrics.textformat import (
    escape_help,
    escape_label_value,
    format_exemplar,
    format_labels,
    format_timestamp,
    format_value,
)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_OPENMETRICS",
    "escape_help",
    "escape_label_value",
    "format_exemplar",
    "format_labels",
    "format_timestamp",
    "format_value",
    "generate_latest",
    "generate_openmetrics",
    "render_openmetrics",
    "render_text",
]

CONTENT_TYPE_LATEST = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"

# Families whose Prometheus-text type differs from the OpenMetrics one.
_TEXT_TYPES = {
    "info": "gauge",
    "stateset": "gauge",
    "gaugehistogram": "histogram",
    "unknown": "untyped",
}
# Samples that text 0.0.4 cannot express inside their family: moved to a gauge after it.
_OM_ONLY_SUFFIXES = ("_created", "_gcount", "_gsum")


def _collectors(registry: Any) -> Iterable[Any]:
    if isinstance(registry, CollectorRegistry):
        info = registry.get_target_info()
        if info:
            from ..metrics.family import InfoMetricFamily

            yield _Families([InfoMetricFamily("target", "Target metadata", value=info)])
        yield from registry.collectors()
    else:
        yield registry


class _Families:
    """Wraps ready families as a collector."""

    def __init__(self, families: list[Metric]):
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


# --- Prometheus text 0.0.4 -------------------------------------------------------------

def _text_family(fam: Metric, out: list[str]) -> None:
    name = fam.name
    typ = fam.type
    if typ == "counter":
        mname = name + "_total"
    elif typ == "info":
        mname = name + "_info"
    else:
        mname = name
    help_text = escape_help(fam.documentation)
    out.append(f"# HELP {mname} {help_text}\n# TYPE {mname} {_TEXT_TYPES.get(typ, typ)}\n")
    moved: dict[str, list[str]] = {}
    om_names = {name + suffix: suffix for suffix in _OM_ONLY_SUFFIXES}
    for s in fam.samples:
        line = _text_sample(s)
        suffix = om_names.get(s.name)
        if suffix is None:
            out.append(line)
        else:
            moved.setdefault(suffix, []).append(line)
    for suffix in sorted(moved):
        out.append(f"# HELP {name}{suffix} {help_text}\n# TYPE {name}{suffix} gauge\n")
        out.extend(moved[suffix])


def _text_sample(s: Any) -> str:
    ts = s.timestamp
    tail = "\n" if ts is None else f" {round(float(ts) * 1000)}\n"
    return f"{s.name}{format_labels(s.labels)} {format_value(s.value)}{tail}"


def render_text(families: Iterable[Metric]) -> str:
    """Text 0.0.4 for families, through the generic path."""
    out: list[str] = []
    for fam in families:
        _text_family(fam, out)
    return "".join(out)


def generate_latest(registry: Any = REGISTRY) -> bytes:
    """The registry (or any collector) in Prometheus text format 0.0.4, UTF-8."""
    out: list[str] = []
    _render_collectors(registry, "_render_text", _text_family, out)
    return "".join(out).encode("utf-8")


def _render_collectors(registry: Any, fast_name: str, render_family: Any,
                       out: list[str]) -> None:
    for collector in _collectors(registry):
        fast = getattr(collector, fast_name, None)
        if fast is not None:
            fast(out)
            continue
        for fam in collector.collect():
            try:
                render_family(fam, out)
            except Exception as e:
                e.args = (*(e.args or ("",)), fam)  # name the family that failed
                raise


# --- OpenMetrics 1.0 ---------------------------------------------------------------------

def _exemplar_allowed(fam: Metric, sample_name: str) -> bool:
    if fam.type == "counter":
        return sample_name.endswith("_total")
    if fam.type in ("histogram", "gaugehistogram"):
        return sample_name.endswith("_bucket")
    return False


def _openmetrics_family(fam: Metric, out: list[str]) -> None:
    name = fam.name
    out.append(f"# HELP {name} {escape_help(fam.documentation, True)}\n# TYPE {name} {fam.type}\n")
    if fam.unit:
        out.append(f"# UNIT {name} {fam.unit}\n")
    for s in fam.samples:
        tail = "" if s.timestamp is None else " " + format_timestamp(s.timestamp)
        if s.exemplar is not None:
            if not _exemplar_allowed(fam, s.name):
                raise ValueError(
                    f"Metric {name} has exemplars, but is not a histogram bucket or counter"
                )
            tail += format_exemplar(s.exemplar)
        out.append(f"{s.name}{format_labels(s.labels)} {format_value(s.value)}{tail}\n")


def render_openmetrics(families: Iterable[Metric]) -> str:
    """OpenMetrics 1.0 for families through the generic path, ending with ``# EOF``."""
    out: list[str] = []
    for fam in families:
        _openmetrics_family(fam, out)
    out.append("# EOF\n")
    return "".join(out)


def generate_openmetrics(registry: Any = REGISTRY) -> bytes:
    """The registry (or any collector) in OpenMetrics 1.0 text, UTF-8, with exemplars."""
    out: list[str] = []
    _render_collectors(registry, "_render_openmetrics", _openmetrics_family, out)
    out.append("# EOF\n")
    return "".join(out).encode("utf-8")
