"""Prometheus label matchers (=, !=, =~, !~) and a small series-selector parser.

Regexes are RE2, as in Prometheus: its syntax (no backreferences, no lookaround), its
linear-time matching (no pattern can backtrack for ever), and fully anchored:
``job=~"api"`` matches only ``api``. A label that a series lacks counts as the empty
string, so ``{env=""}`` selects series without ``env``. The dataclass is shared with the
PromQL engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from watchkeeper.tsdb.errors import BadMatcherError
from watchkeeper.tsdb.labels import METRIC_NAME

try:
    import re2
except ImportError:  # pragma: no cover - google-re2 comes with the server extra
    re2 = None

OPS = ("=", "!=", "=~", "!~")


_LITERALS = re.compile(r"[A-Za-z0-9_:/ -]*(?:\|[A-Za-z0-9_:/ -]*)*")


def _go_refuses(pattern: str) -> str | None:
    """What C++ RE2 accepts and Go's regexp (Prometheus's) refuses: ``\\C`` and ``(?<name>``."""
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1:i + 2]
            if nxt == "C":
                return "\\C"
            if nxt == "Q":  # literal text up to \E
                end = pattern.find("\\E", i + 2)
                i = len(pattern) if end < 0 else end + 2
                continue
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                i += 1
            if pattern[i + 1:i + 2] == "]":  # a leading ] is a literal
                i += 1
        elif pattern.startswith("(?<", i):
            return "(?<"
        i += 1
    return None


class Regex:
    """A PromQL regex: RE2 syntax and linear-time matching, anchored as ``^(?:...)$``.

    Prometheus matches with Go's regexp (RE2); Python's backtracking ``re`` has another
    syntax and can run for ever on nested quantifiers, so it is never used here.
    """

    __slots__ = ("_literals", "_names", "_rx", "pattern")

    def __init__(self, pattern: str, alone: bool = True) -> None:
        self.pattern = pattern
        self._literals = (frozenset(pattern.split("|")) if _LITERALS.fullmatch(pattern)
                          else None)
        refused = _go_refuses(pattern)
        if refused:
            raise BadMatcherError(f"bad regex {pattern!r}: invalid or unsupported Perl "
                                  f"syntax: {refused}")
        if re2 is None:  # pragma: no cover - google-re2 comes with the server extra
            raise BadMatcherError("regex matching needs google-re2 "
                                  "(pip install 'watchkeeper[server]')")
        options = re2.Options()
        options.log_errors = False
        rx = re2._re2.RE2(f"^(?:{pattern})$".encode("utf-8", "surrogatepass"), options)
        if rx.ok() and alone:  # a matcher's regex must parse on its own too: not "a)|(b"
            bare = re2._re2.RE2(pattern.encode("utf-8", "surrogatepass"), options)
            rx = rx if bare.ok() else bare
        if not rx.ok():
            error = rx.error()
            error = error.decode("utf-8", "replace") if isinstance(error, bytes) else error
            raise BadMatcherError(f"bad regex {pattern!r}: {error}")
        self._rx = rx
        self._names = {i: name.decode() for name, i in rx.NamedCapturingGroups()}

    def fullmatch(self, value: str) -> bool:
        if self._literals is not None:
            return value in self._literals
        text = value.encode("utf-8", "surrogatepass")
        return self._rx.Match(_SEARCH, text, 0, len(text))[0][0] >= 0

    def groups(self, value: str) -> dict[int | str, str | None] | None:
        """Capture groups by number and by name (``None`` when a group took no part), or
        ``None`` when ``value`` does not match."""
        text = value.encode("utf-8", "surrogatepass")
        spans = self._rx.Match(_SEARCH, text, 0, len(text))
        if spans[0][0] < 0:
            return None
        out: dict[int | str, str | None] = {}
        for i, (lo, hi) in enumerate(spans):
            out[i] = text[lo:hi].decode("utf-8", "surrogatepass") if lo >= 0 else None
            if i in self._names:
                out[self._names[i]] = out[i]
        return out


# a search, as Go's regexp does: the pattern carries its own ^ and $
_SEARCH = re2._re2.RE2.Anchor.UNANCHORED if re2 is not None else None


@lru_cache(maxsize=4096)
def compile_regex(pattern: str, alone: bool = True) -> Regex:
    """The (cached) RE2 regex of a matcher or a PromQL function; BadMatcherError names it.

    ``alone=False`` (label_replace) takes what Prometheus's ``^(?:`` + pattern + ``)$``
    takes, even where the pattern alone does not parse (``a)|(b``).
    """
    return Regex(pattern, alone)


@dataclass(frozen=True)
class Matcher:
    """One label matcher: ``name op value``."""

    name: str
    op: str
    value: str
    _regex: Regex | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise BadMatcherError(f"unknown matcher operator {self.op!r} (use one of {OPS})")
        if self.op in ("=~", "!~"):
            object.__setattr__(self, "_regex", compile_regex(self.value))

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
        hit = self._regex.fullmatch(value)  # type: ignore[union-attr]
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
