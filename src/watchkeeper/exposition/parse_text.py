"""Prometheus text format 0.0.4 into metric families, fast.

Most exposition lines have one of two shapes: ``name value [ts]`` or
``name{a="x",b="y"} value [ts]`` with no escapes and single spaces. Those are taken apart
with ``str.split`` and a cache keyed by the line's label *shape* (the text outside the
quotes, e.g. ``('http_requests_total{method=', ',code=')``), which every series of a metric
shares, so names are validated once per metric instead of once per line. Any other line goes
through the careful scanner in ``parse_line``, which either accepts it (tabs, escapes,
trailing commas) or says exactly where it is wrong.

Families are grouped as prometheus_client's parser groups them: ``# HELP``/``# TYPE`` open a
family, samples whose names the type allows (``_bucket``/``_sum``/``_count`` for histograms,
``_sum``/``_count`` for summaries) join it, and any other sample opens an untyped family of
its own (consecutive samples of one untyped name share it). Counters are named without
``_total`` and their samples with it, as in OpenMetrics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..metrics.family import Metric, Sample
from .parse_errors import ParseError
from .parse_line import parse_float, scan_text_comment, scan_text_sample, unescape_help

TEXT_TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
_ALLOWED_SUFFIXES = {
    "summary": ("", "_sum", "_count"),
    "histogram": ("_bucket", "_sum", "_count"),
}
_FIRST_KEY = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([a-zA-Z_][a-zA-Z0-9_]*)=")
_NEXT_KEY = re.compile(r",([a-zA-Z_][a-zA-Z0-9_]*)=")
_PLAIN_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_new_tuple = tuple.__new__


def new_family(name: str, documentation: str, typ: str, unit: str,
               samples: list[Sample]) -> Metric:
    """A Metric without re-validating a name the lexer already checked."""
    metric = Metric.__new__(Metric)
    metric.name = name
    metric.documentation = documentation
    metric.type = "unknown" if typ == "untyped" else typ
    metric.unit = unit
    metric.samples = samples
    return metric


def _text_family(name: str, documentation: str, typ: str, samples: list[Sample]) -> Metric:
    if typ == "counter":
        if name.endswith("_total") and len(name) > 6:
            name = name[:-6]
        else:
            samples = [s._replace(name=s.name + "_total") for s in samples]
    return new_family(name, documentation, typ, "", samples)


def _label_shape(key: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
    """(metric name, label names) for a shape the fast path may trust, else None."""
    if not key:
        return None
    m = _FIRST_KEY.fullmatch(key[0])
    if m is None:
        return None
    names = [m.group(2)]
    for part in key[1:]:
        m2 = _NEXT_KEY.fullmatch(part)
        if m2 is None:
            return None
        names.append(m2.group(1))
    if len(set(names)) != len(names):
        return None  # duplicate label: let the scanner report it
    return m.group(1), tuple(names)


def _fast_value(token: str) -> float | None:
    if not token.isascii() or "_" in token or not token.isprintable():
        return None
    try:
        value = float(token)
    except ValueError:
        return None
    if value - value != 0:  # NaN or an infinity: check the spelling the slow way
        return parse_float(token)
    return value


def parse_text_lines(lines: Iterable[str]) -> Iterator[Metric]:
    """Families from text 0.0.4 lines (without their line breaks), streamed family by family."""
    shapes: dict[tuple[str, ...], tuple[str, tuple[str, ...]] | None] = {}
    plain_names: set[str] = set()
    fam_name: str | None = None
    doc = ""
    typ = "untyped"
    samples: list[Sample] = []
    allowed: tuple[str, ...] | frozenset[str] = ()
    append = samples.append
    sample_cls = Sample
    lineno = 0

    for lineno, line in enumerate(lines, 1):
        if not line:
            continue
        sample = None
        first = line[0]
        if first != "#" and first != " " and first != "\t" and line[-1] not in " \t\r":
            brace = line.find("{")
            if brace > 0:
                if "\\" not in line:
                    parts = line.split('"')
                    if len(parts) & 1:
                        key = tuple(parts[0:-1:2])
                        shape = shapes.get(key, False)
                        if shape is False:
                            shape = shapes[key] = _label_shape(key)
                        tail = parts[-1]
                        if shape is not None and tail[:2] == "} ":
                            sp = tail.split(" ")
                            ts = None
                            if len(sp) == 2:
                                value = _fast_value(sp[1])
                            elif len(sp) == 3 and sp[2].isdigit() and sp[2].isascii() and len(
                                    sp[2]) < 19:
                                value = _fast_value(sp[1])
                                ts = int(sp[2]) / 1000
                            else:
                                value = None
                            if value is not None:
                                name, labelnames = shape
                                labels = dict(zip(labelnames, parts[1::2], strict=False))
                                sample = _new_tuple(sample_cls, (name, labels, value, ts, None))
            else:
                sp = line.split(" ")
                n = len(sp)
                if n == 2 or n == 3:
                    name = sp[0]
                    if name in plain_names or (
                            brace < 0 and _PLAIN_NAME.fullmatch(name) is not None
                            and not plain_names.add(name)):
                        ts = None
                        value = _fast_value(sp[1])
                        if n == 3:
                            t = sp[2]
                            if t.isdigit() and t.isascii() and len(t) < 19:
                                ts = int(t) / 1000
                            else:
                                value = None
                        if value is not None:
                            sample = _new_tuple(sample_cls, (name, {}, value, ts, None))
        if sample is None:
            stripped = line.strip(" \t\r")
            if not stripped:
                continue
            if stripped[0] == "#":
                meta = scan_text_comment(stripped, lineno)
                if meta is None:
                    continue
                kind, mname, text = meta
                if kind == "HELP":
                    if mname != fam_name:
                        if fam_name is not None:
                            yield _text_family(fam_name, doc, typ, samples)
                        fam_name = mname
                        typ = "untyped"
                        samples = []
                        append = samples.append
                        allowed = (mname,)
                    doc = unescape_help(text, False)
                else:
                    if text not in TEXT_TYPES:
                        col = line.rfind(text) + 1 if text else len(line) + 1
                        raise ParseError(lineno, col,
                                         f"expected counter, gauge, histogram, summary or "
                                         f"untyped, got {text!r}", line)
                    if mname != fam_name:
                        if fam_name is not None:
                            yield _text_family(fam_name, doc, typ, samples)
                        fam_name = mname
                        doc = ""
                        samples = []
                        append = samples.append
                    typ = text
                    allowed = frozenset(mname + s for s in _ALLOWED_SUFFIXES.get(typ, ("",)))
                continue
            parsed = scan_text_sample(line.rstrip(" \t\r"), lineno)
            sample = _new_tuple(sample_cls, (*parsed[:4], None))

        if sample[0] not in allowed:
            if fam_name is not None:
                yield _text_family(fam_name, doc, typ, samples)
            fam_name = sample[0]
            doc = ""
            typ = "untyped"
            samples = [sample]
            append = samples.append
            allowed = (fam_name,)
        else:
            append(sample)

    if fam_name is not None:
        yield _text_family(fam_name, doc, typ, samples)
