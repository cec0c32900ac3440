"""How values, labels and HELP are written in the Prometheus text formats.

Shared by the metric types' fast renderers and the generic renderer in exposition, so the
two paths cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

_INF = math.inf
_NINF = -math.inf
_EXPONENTS = tuple(f"e+{i:02d}" for i in range(17))


def format_value(v: Any) -> str:
    """A sample value as Prometheus writes it: ``1.0``, ``+Inf``, ``NaN``, ``1.5e+06``."""
    if v.__class__ is not float:
        v = float(v)
    s = repr(v)
    if v >= 1000000.0:
        # Go's shortest %g switches to exponent notation from 1e6 on, Python's repr only
        # from 1e16: move the point of repr's (shortest) digits by hand, d.ddde+XX.
        if v >= 1e16:
            return "+Inf" if v == _INF else s
        dot = s.find(".")
        digits = (s[1:dot] + s[dot + 1:]).rstrip("0")
        return (s[0] + "." + digits if digits else s[0]) + _EXPONENTS[dot - 1]
    if v != v:
        return "NaN"
    if v == _NINF:
        return "-Inf"
    return s


def escape_label_value(v: str) -> str:
    """Backslash, double quote and newline escaped, as both formats require."""
    if "\\" in v:
        v = v.replace("\\", "\\\\")
    if "\n" in v:
        v = v.replace("\n", "\\n")
    if '"' in v:
        v = v.replace('"', '\\"')
    return v


def escape_help(text: str, openmetrics: bool = False) -> str:
    """HELP text: text 0.0.4 escapes backslash and newline; OpenMetrics also the quote."""
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    if openmetrics:
        text = text.replace('"', '\\"')
    return text


def format_labels(labels: dict[str, str]) -> str:
    """``{a="x",b="y"}`` or the empty string."""
    if not labels:
        return ""
    return "{" + ",".join(
        f'{k}="{escape_label_value(str(v))}"' for k, v in labels.items()
    ) + "}"


def render_labels(names: Sequence[str], values: Sequence[str]) -> str:
    """``{a="x",b="y"}`` from parallel names and values, or the empty string."""
    if not names:
        return ""
    return "{" + ",".join(
        f'{n}="{escape_label_value(v)}"' for n, v in zip(names, values, strict=True)) + "}"


def format_exemplar(exemplar: Any) -> str:
    """`` # {trace_id="x"} 0.5 1700000000.0`` (leading space included)."""
    labels = format_labels(exemplar.labels) or "{}"
    if exemplar.timestamp is None:
        return f" # {labels} {format_value(exemplar.value)}"
    return f" # {labels} {format_value(exemplar.value)} {format_timestamp(exemplar.timestamp)}"


def format_timestamp(ts: float) -> str:
    """OpenMetrics timestamps are seconds; integers are written without a fraction."""
    f = float(ts)
    return str(int(f)) if f.is_integer() else repr(f)
