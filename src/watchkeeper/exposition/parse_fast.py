"""What makes the common exposition line cheap: label-shape caching and quick floats.

Without escapes, ``line.split('"')`` takes a labelled sample line apart exactly: odd parts
are label values, even parts the text between them (``name{a=``, ``,b=``, ``} 1.5``). Every
series of a metric shares those even parts (its *shape*), so the metric and label names are
validated once per shape, and each shape gets a small compiled function that builds the
label dict straight from the parts, which is several times cheaper than ``dict(zip(...))``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import islice
from typing import NamedTuple

from ..metrics.family import Sample
from .parse_line import parse_float

_FIRST_KEY = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([a-zA-Z_][a-zA-Z0-9_]*)=")
_NEXT_KEY = re.compile(r",([a-zA-Z_][a-zA-Z0-9_]*)=")
PLAIN_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_MISSING = object()
# Bound on cached shapes: hostile input with a new label name per line must not grow memory.
_MAX_SHAPES = 4096
# Compiled shapes shared by all parses (a scraper parses the same shapes every interval).
# Plain dict reads and writes are atomic, so threads may share it without a lock.
_COMPILED: dict[tuple[str, ...], Shape] = {}


class Shape(NamedTuple):
    name: str
    # Builds the label dict from the split line, or returns None if the line's even parts
    # after the first are not this shape's (several shapes can share a first part).
    labels: Callable[[list[str]], dict[str, str] | None]
    # ``run(lines, i, n, append, clean) -> i``: appends the text 0.0.4 samples of
    # ``lines[i:n]`` while they keep this shape and the simple form; None until compiled.
    run: Callable[..., int] | None


class _Seen(NamedTuple):
    """A valid shape met once: compiled only if it comes again (one-off shapes stay cheap)."""

    name: str
    names: tuple[str, ...]


# One loop per shape over consecutive lines: no lookups, no family checks, no generic tests.
_RUN = """
def run(lines, i, n, append, clean):
    for line in _islice(lines, i, n):
        p = line.split('"')
        if not ({checks}):
            return i
        if not clean and ("\\\\" in line or not line.isprintable()):
            return i
        sp = p[{last}].split(" ")
        if sp[0] != "}}":
            return i
        if len(sp) == 2:
            ts = None
        elif len(sp) == 3 and sp[2].isdigit() and sp[2].isascii() and len(sp[2]) < 19:
            ts = int(sp[2]) / 1000
        else:
            return i
        token = sp[1]
        if not token.isascii() or "_" in token:
            return i
        try:
            value = float(token)
        except ValueError:
            return i
        if value - value != 0:
            return i
        append(_new(_Sample, ({name!r}, {{{body}}}, value, ts, None)))
        i += 1
    return i
"""


def _validate(key: tuple[str, ...]) -> _Seen | None:
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
        return None  # a duplicate label: the careful scanner reports it
    return _Seen(m.group(1), tuple(names))


def _generic(seen: _Seen) -> Shape:
    names = seen.names
    size = 2 * len(names) + 1
    return Shape(seen.name, lambda p: dict(zip(names, p[1::2], strict=False))
                 if len(p) == size else None, None)


def _compile(key: tuple[str, ...], seen: _Seen) -> Shape:
    # Every name and key part matched a strict regex, so their reprs are plain literals.
    names = seen.names
    body = ", ".join(f"{n!r}: p[{2 * i + 1}]" for i, n in enumerate(names))
    checks = [f"len(p) == {2 * len(names) + 1}"] + [
        f"p[{2 * i}] == {part!r}" for i, part in enumerate(key[1:], 1)]
    labels = eval(f"lambda p: {{{body}}} if {' and '.join(checks)} else None")
    namespace = {"_new": tuple.__new__, "_Sample": Sample, "_islice": islice}
    exec(_RUN.format(checks=" and ".join([f"p[0] == {key[0]!r}", *checks]),
                     last=2 * len(names), name=seen.name, body=body), namespace)
    return Shape(seen.name, labels, namespace["run"])


class ShapeCache:
    """Shapes by their first part (the fast lookup) and by all parts (the authority)."""

    __slots__ = ("by_first", "by_key")

    def __init__(self) -> None:
        self.by_first: dict[str, Shape] = {}
        self.by_key: dict[tuple[str, ...], Shape | _Seen | None] = {}

    def resolve(self, parts: list[str]) -> Shape | None:
        """The shape of a split line when ``by_first`` missed, or None if it is not simple."""
        key = tuple(parts[0:-1:2])
        entry = self.by_key.get(key, _MISSING)
        if entry is _MISSING:
            if len(self.by_key) >= _MAX_SHAPES:
                self.by_key.clear()
                self.by_first.clear()
            compiled = _COMPILED.get(key)
            if compiled is not None:  # compiled by an earlier parse: scrapes repeat shapes
                self.by_key[key] = self.by_first[parts[0]] = compiled
                return compiled
            seen = self.by_key[key] = _validate(key)
            return None if seen is None else _generic(seen)
        if entry is None:
            return None
        if entry.__class__ is _Seen:
            compiled = _COMPILED.get(key)
            if compiled is None:
                if len(_COMPILED) >= _MAX_SHAPES:
                    _COMPILED.clear()
                compiled = _COMPILED[key] = _compile(key, entry)  # type: ignore[arg-type]
            entry = self.by_key[key] = compiled
        self.by_first[parts[0]] = entry  # type: ignore[assignment]
        return entry  # type: ignore[return-value]


def fast_value(token: str) -> float | None:
    """A sample value, or None when the careful path must decide (or reject)."""
    if not token.isascii() or "_" in token or not token.isprintable():
        return None
    try:
        value = float(token)
    except ValueError:
        return None
    if value - value != 0:  # NaN or an infinity: check the spelling the careful way
        return parse_float(token)
    return value
