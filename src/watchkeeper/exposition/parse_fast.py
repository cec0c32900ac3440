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
from typing import NamedTuple

from .parse_line import parse_float

_FIRST_KEY = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([a-zA-Z_][a-zA-Z0-9_]*)=")
_NEXT_KEY = re.compile(r",([a-zA-Z_][a-zA-Z0-9_]*)=")
PLAIN_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_MISSING = object()
# Bound on cached shapes: hostile input with a new label name per line must not grow memory.
_MAX_SHAPES = 4096


class Shape(NamedTuple):
    name: str
    labels: Callable[[list[str]], dict[str, str]]
    rest: list[str]  # the even parts after the first, to confirm a cache hit on parts[0]


def _make_shape(key: tuple[str, ...]) -> Shape | None:
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
    # Names matched [a-zA-Z_][a-zA-Z0-9_]*, so their reprs are plain string literals.
    body = ", ".join(f"{n!r}: p[{2 * i + 1}]" for i, n in enumerate(names))
    build = eval(f"lambda p: {{{body}}}")
    return Shape(m.group(1), build, list(key[1:]))


class ShapeCache:
    """Shapes by their first part (the fast lookup) and by all parts (the authority)."""

    __slots__ = ("by_first", "by_key")

    def __init__(self) -> None:
        self.by_first: dict[str, Shape] = {}
        self.by_key: dict[tuple[str, ...], Shape | None] = {}

    def resolve(self, parts: list[str]) -> Shape | None:
        """The shape of a split line when ``by_first`` missed, or None if it is not simple."""
        key = tuple(parts[0:-1:2])
        shape = self.by_key.get(key, _MISSING)
        if shape is _MISSING:
            if len(self.by_key) >= _MAX_SHAPES:
                self.by_key.clear()
                self.by_first.clear()
            shape = self.by_key[key] = _make_shape(key)
        if shape is not None:
            self.by_first[parts[0]] = shape  # type: ignore[assignment]
        return shape  # type: ignore[return-value]


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
