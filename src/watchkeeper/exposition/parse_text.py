"""Prometheus text format 0.0.4 into metric families, fast.

Most exposition lines have one of two shapes: ``name value [ts]`` or
``name{a="x",b="y"} value [ts]`` with no escapes and single spaces. Those are taken apart
with ``str.split`` and a cache keyed by the line's label *shape* (the text outside the
quotes, e.g. ``('http_requests_total{method=', ',code=')``), which every series of a metric
shares, so names are validated once per metric instead of once per line. A shape met again
gets a compiled loop (``parse_fast``) that takes the following lines of that shape in one go.
Any other line goes through the careful scanner in ``parse_line``, which either accepts it
(tabs, escapes, trailing commas) or says exactly where it is wrong. Unlike Prometheus, a
missing final newline is accepted, as prometheus_client accepts it.

Families are grouped as prometheus_client's parser groups them: ``# HELP``/``# TYPE`` open a
family, samples whose names the type allows (``_bucket``/``_sum``/``_count`` for histograms,
``_sum``/``_count`` for summaries) join it, and any other sample opens an untyped family of
its own (consecutive samples of one untyped name share it). Counters are named without
``_total`` and their samples with it, as in OpenMetrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from ..metrics.family import Metric, Sample
from .parse_errors import ParseError
from .parse_fast import PLAIN_NAME, ShapeCache, fast_value
from .parse_line import parse_float, scan_text_comment, scan_text_sample, unescape_help

TEXT_TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
_ALLOWED_SUFFIXES = {
    "summary": ("", "_sum", "_count"),
    "histogram": ("_bucket", "_sum", "_count"),
}
_new_tuple = tuple.__new__


# Backslash and the ASCII whitespace that float() would strip but Prometheus rejects.
_UNCLEAN = ("\\", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def text_is_clean(text: str) -> bool:
    """No escapes and no whitespace but space and newline in ``text`` (a few memchr scans)."""
    return not any(c in text for c in _UNCLEAN)


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


def _plain_metadata(line: str, valid_names: set[str]) -> tuple[str, str, str] | None:
    """``# HELP name text`` or ``# TYPE name type`` with single spaces, else None."""
    kind = line[2:6]
    if line[:2] != "# " or line[6:7] != " " or (kind != "HELP" and kind != "TYPE"):
        return None
    name, _, text = line[7:].partition(" ")
    if name not in valid_names:
        if PLAIN_NAME.fullmatch(name) is None:
            return None
        valid_names.add(name)
    if kind == "TYPE":
        text = text.strip(" \t")
        if not text:
            return None  # the careful scanner says what is missing
    return kind, name, text


def _batches(lines: Iterable[str], size: int = 4096) -> Iterator[list[str]]:
    if isinstance(lines, list):
        yield lines
        return
    iterator = iter(lines)
    while batch := list(islice(iterator, size)):
        yield batch


def parse_text_lines(lines: Iterable[str], clean: bool = False) -> Iterator[Metric]:
    """Families from text 0.0.4 lines (without their line breaks), streamed family by family.

    ``clean`` promises that no line holds a backslash, a tab or other control whitespace,
    which spares the fast path a check per line (``text_is_clean`` decides it for a whole
    string at once). An iterator is read in batches, so memory stays bounded by a batch and
    the current family.
    """
    cache = ShapeCache()
    by_first = cache.by_first
    resolve = cache.resolve
    plain_names: set[str] = set()
    fam_name: str | None = None
    doc = ""
    typ = "untyped"
    samples: list[Sample] = []
    allowed: tuple[str, ...] | frozenset[str] = ()
    append = samples.append
    sample_cls = Sample
    base = 0

    for batch in _batches(lines):
        i = 0
        n = len(batch)
        while i < n:
            line = batch[i]
            i += 1
            # The fast path: trusted shapes, single spaces, no escapes. Anything else (and
            # every error) falls through to the careful scanner with ``sample`` still None.
            sample = None
            parts = line.split('"')
            if len(parts) > 1:
                shape = by_first.get(parts[0])
                labels = shape[1](parts) if shape is not None else None
                if labels is None:
                    shape = resolve(parts)
                    labels = shape[1](parts) if shape is not None else None
                if labels is not None and (clean or ("\\" not in line and line.isprintable())):
                    sp = parts[-1].split(" ")
                    k = len(sp)
                    if sp[0] == "}" and (k == 2 or k == 3):
                        token = sp[1]
                        ts = None
                        if k == 3:
                            t = sp[2]
                            if t.isdigit() and t.isascii() and len(t) < 19:
                                ts = int(t) / 1000
                            else:
                                token = ""
                        if token.isascii() and "_" not in token:
                            try:
                                value = float(token)
                            except ValueError:
                                value = None
                            if value is not None and value - value != 0:
                                value = parse_float(token)  # NaN or infinity: check spelling
                            if value is not None:
                                name = shape[0]  # type: ignore[index]
                                sample = _new_tuple(sample_cls, (name, labels, value, ts, None))
                                if name in allowed:
                                    append(sample)
                                    run = shape[2]  # type: ignore[index]
                                    if run is not None:
                                        # Then every following line of the same shape.
                                        i = run(batch, i, n, append, clean)
                                    continue
            else:
                sp = line.split(" ")
                k = len(sp)
                if k == 2 or k == 3:
                    name = sp[0]
                    if name in plain_names or (
                            PLAIN_NAME.fullmatch(name) is not None and not plain_names.add(name)):
                        value = fast_value(sp[1])
                        ts = None
                        if k == 3:
                            t = sp[2]
                            if t.isdigit() and t.isascii() and len(t) < 19:
                                ts = int(t) / 1000
                            else:
                                value = None
                        if value is not None:
                            sample = _new_tuple(sample_cls, (name, {}, value, ts, None))
            if sample is None:
                stripped = line.strip(" \t")
                if not stripped:
                    continue
                if stripped[0] == "#":
                    meta = _plain_metadata(line, plain_names)
                    if meta is None:
                        # Only leading blanks go: HELP keeps trailing spaces, as Prometheus.
                        meta = scan_text_comment(line.lstrip(" \t"), base + i)
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
                            raise ParseError(base + i, col,
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
                parsed = scan_text_sample(line.rstrip(" \t"), base + i)
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

        base += n

    if fam_name is not None:
        yield _text_family(fam_name, doc, typ, samples)
