"""The functions Prometheus offers in alert templates, formatted as Go formats them.

Why Go's formatting by hand: rule authors copy annotations from Prometheus and expect
``{{ $value | humanize }}`` to read ``1.5k`` and ``{{ $value }}`` to read ``1e+06``
exactly as Prometheus writes them.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


class TemplateError(Exception):
    """A template that cannot be parsed or executed; the message says where and why."""


def go_float(v: float) -> str:
    """Go's %v for a float64: shortest digits, exponent form outside 1e-4 .. 1e6."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    sign, digits, exponent = Decimal(repr(v)).normalize().as_tuple()
    text = "".join(map(str, digits))
    exp = len(text) + int(exponent) - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{prefix}0.{'0' * (-exp - 1)}{text}"
    if len(text) <= exp + 1:
        return prefix + text + "0" * (exp + 1 - len(text))
    return f"{prefix}{text[: exp + 1]}.{text[exp + 1:]}"


def go_g(v: float, precision: int = 4) -> str:
    """Go's %.<precision>g (same rules as C's, with Go's spelling of NaN and infinities)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.{precision}g}"


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TemplateError(f"can't convert {value!r} to float")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise TemplateError(f"strconv.ParseFloat: parsing {str(value)!r}: invalid syntax") from None


def humanize(value: Any) -> str:
    v = to_float(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return go_g(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
    else:
        for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
            if abs(v) >= 1:
                break
            prefix, v = p, v * 1000
    return go_g(v) + prefix


def humanize1024(value: Any) -> str:
    v = to_float(value)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return go_g(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return go_g(v) + prefix


def humanize_duration(value: Any) -> str:
    v = to_float(value)
    if math.isnan(v) or math.isinf(v):
        return go_g(v)
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_g(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{go_g(v)}{prefix}s"


def humanize_percentage(value: Any) -> str:
    return go_g(to_float(value) * 100) + "%"


def humanize_timestamp(value: Any) -> str:
    v = to_float(value)
    if math.isnan(v) or math.isinf(v):
        return go_g(v)
    nanos = int(v * 1e9)  # as Prometheus: float seconds -> int64 ns -> truncated ms
    millis = abs(nanos) // 1_000_000 * (1 if nanos >= 0 else -1)
    whole, milli = divmod(millis, 1000)
    text = datetime.fromtimestamp(whole, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    if milli:
        text += f".{milli:03d}".rstrip("0")
    return text + " +0000 UTC"


def go_regex_replacement(repl: str) -> str:
    """Go's $1 / ${1} / ${name} in a replacement, as Python's \\g<...>."""
    out = repl.replace("\\", "\\\\")
    out = re.sub(r"\$\{(\w+)\}", r"\\g<\1>", out)
    return re.sub(r"\$(\d+|[A-Za-z_]\w*)", r"\\g<\1>", out).replace("$$", "$")


def re_replace_all(pattern: str, repl: str, text: str) -> str:
    try:
        return re.sub(pattern, go_regex_replacement(repl), str(text))
    except (re.error, IndexError) as e:
        raise TemplateError(f"reReplaceAll: {e}") from None


def title(text: Any) -> str:
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), str(text))


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def go_printf(fmt: str, *args: Any) -> str:
    """A faithful subset of Go's fmt.Sprintf: %s %v %d %f %e %g %q %x %t %%."""
    values = list(args)
    out: list[str] = []
    pos = 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if not values:
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = values.pop(0)
        out.append(_format_one(flags, width, prec, verb, arg))
    out.append(fmt[pos:])
    if values:
        out.append("%!(EXTRA " + ", ".join(f"{type(a).__name__}={stringify(a)}" for a in values)
                   + ")")
    return "".join(out)


def _format_one(flags: str, width: str | None, prec: str | None, verb: str, arg: Any) -> str:
    spec = flags + (width or "") + (f".{prec}" if prec is not None else "")
    try:
        if verb in "fFeEgG":
            v = to_float(arg)
            if math.isnan(v) or math.isinf(v):
                return go_float(v)
            return f"%{spec}{verb}" % v
        if verb == "d":
            return f"%{spec}d" % int(to_float(arg))
        if verb in "xX":
            return f"%{spec}{verb}" % int(arg) if isinstance(arg, int) else (
                str(arg).encode().hex() if verb == "x" else str(arg).encode().hex().upper())
        if verb == "q":
            return '"' + str(arg).replace("\\", "\\\\").replace('"', '\\"') + '"'
        if verb == "t":
            return "true" if arg else "false"
    except (TypeError, ValueError, TemplateError):
        return f"%!{verb}({type(arg).__name__}={stringify(arg)})"
    return f"%{spec}s" % stringify(arg)


def stringify(value: Any) -> str:
    """How Go's text/template prints a value."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{stringify(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(stringify(v) for v in value) + "]"
    return str(value)


def truthy(value: Any) -> bool:
    """Go template truth: zero values and empty collections are false."""
    if value is None:
        return False
    if isinstance(value, bool | int | float):
        return value != 0
    if isinstance(value, str | list | tuple | dict):
        return len(value) > 0
    return True


def strip_port(host: str) -> str:
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cmp(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(a: Any, *others: Any) -> bool:
        if not others:
            raise TemplateError("missing argument for comparison")
        for b in others:
            if isinstance(a, int | float) != isinstance(b, int | float):
                raise TemplateError("incompatible types for comparison")
            if op(a, b):
                return True
        return False
    return compare


def _label(name: str, sample: Any) -> str:
    return (sample.get("Labels") or {}).get(name, "") if isinstance(sample, Mapping) else ""


def _first(items: Any) -> Any:
    if not items:
        raise TemplateError("first() called on vector with no elements")
    return items[0]


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        item = item.get(key, "") if isinstance(item, Mapping) else item[int(key)]
    return item


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
    "humanizeTimestamp": humanize_timestamp,
    "printf": go_printf,
    "print": lambda *a: "".join(stringify(x) for x in a),
    "println": lambda *a: " ".join(stringify(x) for x in a) + "\n",
    "title": title,
    "toUpper": lambda s: str(s).upper(),
    "toLower": lambda s: str(s).lower(),
    "reReplaceAll": re_replace_all,
    "match": lambda pattern, text: re.search(pattern, str(text)) is not None,
    "stripPort": strip_port,
    "stripDomain": lambda h: h.split(".", 1)[0] if not h.replace(".", "").isdigit() else h,
    "safeHtml": str,
    "html": lambda s: str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
    "urlquery": lambda s: urllib.parse.quote_plus(str(s)),
    "toTime": lambda v: humanize_timestamp(v),
    "label": _label,
    "value": lambda s: s.get("Value") if isinstance(s, Mapping) else None,
    "strvalue": lambda s: (s.get("Labels") or {}).get("__value__", "")
    if isinstance(s, Mapping) else "",
    "first": _first,
    "args": lambda *a: {f"arg{i}": v for i, v in enumerate(a)},
    "sortByLabel": lambda name, items: sorted(items, key=lambda s: _label(name, s)),
    "query": lambda q: [],  # replaced by a real query when rules are evaluated
    "externalURL": lambda: "",
    "pathPrefix": lambda: "",
    "len": lambda x: len(x),
    "index": _index,
    "not": lambda x: not truthy(x),
    "and": lambda *a: next((x for x in a if not truthy(x)), a[-1]),
    "or": lambda *a: next((x for x in a if truthy(x)), a[-1]),
    "eq": _cmp(lambda a, b: a == b),
    "ne": lambda a, b: not _cmp(lambda x, y: x == y)(a, b),
    "lt": lambda a, b: _cmp(lambda x, y: x < y)(a, b),
    "le": lambda a, b: _cmp(lambda x, y: x <= y)(a, b),
    "gt": lambda a, b: _cmp(lambda x, y: x > y)(a, b),
    "ge": lambda a, b: _cmp(lambda x, y: x >= y)(a, b),
}
