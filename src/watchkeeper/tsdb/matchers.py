"""Prometheus label matchers (=, !=, =~, !~) and a small series-selector parser.

Regexes are fully anchored, as in Prometheus: ``job=~"api"`` matches only ``api``.
A label that a series lacks counts as the empty string, so ``{env=""}`` selects series
without ``env``. The dataclass is shared with the PromQL engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from watchkeeper.tsdb.errors import BadMatcherError
from watchkeeper.tsdb.labels import METRIC_NAME

OPS = ("=", "!=", "=~", "!~")


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(f"(?:{pattern})", re.DOTALL)
    except re.error as e:
        raise BadMatcherError(f"bad regex {pattern!r}: {e}") from None


@dataclass(frozen=True)
class Matcher:
    """One label matcher: ``name op value``."""

    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise BadMatcherError(f"unknown matcher operator {self.op!r} (use one of {OPS})")
        if self.op in ("=~", "!~"):
            object.__setattr__(self, "_regex", _compile(self.value))

    @classmethod
    def eq(cls, name: str, value: str) -> Matcher:
        return cls(name, "=", value)

    def matches(self, value: str) -> bool:
        """Does a label value (``""`` when absent) satisfy this matcher?"""
        op = self.op
        if op == "=":
            return value == self.value
        if op == "!=":
            return value != self.value
        hit = self._regex.fullmatch(value) is not None  # type: ignore[union-attr]
        return hit if op == "=~" else not hit

    @property
    def matches_empty(self) -> bool:
        return self.matches("")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


_NAME = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*")
_LABEL = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'')
_UNESCAPE = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m.group(1), "\\" + m.group(1)), text)


def parse_selector(text: str) -> list[Matcher]:
    """Parse ``metric{label="v",other=~"re"}`` (either part optional) into matchers."""
    matchers: list[Matcher] = []
    pos = 0
    m = _NAME.match(text, pos)
    if m and m.group(1):
        matchers.append(Matcher(METRIC_NAME, "=", m.group(1)))
        pos = m.end()
    rest = text[pos:].strip()
    if rest:
        if not (rest.startswith("{") and rest.endswith("}")):
            raise BadMatcherError(f"bad series selector {text!r}: expected name{{...}}")
        body, i = rest[1:-1], 0
        while True:
            while i < len(body) and body[i] in " \t,":
                i += 1
            if i >= len(body):
                break
            lm = _LABEL.match(body, i)
            sm = _STRING.match(body, lm.end()) if lm else None
            if not lm or not sm:
                raise BadMatcherError(f"bad series selector {text!r} at {body[i:]!r}")
            raw = sm.group(1) if sm.group(1) is not None else sm.group(2)
            matchers.append(Matcher(lm.group(1), lm.group(2), _unescape(raw)))
            i = sm.end()
            while i < len(body) and body[i] == " ":
                i += 1
            if i < len(body) and body[i] != ",":
                raise BadMatcherError(f"bad series selector {text!r}: expected ',' at {i}")
    if not matchers:
        raise BadMatcherError(f"empty series selector {text!r}")
    return matchers
