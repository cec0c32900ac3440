"""The careful path: one sample or metadata line scanned character by character.

The family builders try cheap string splits first and come here for anything unusual
(escapes, odd whitespace, exemplars) or wrong. This scanner follows the Prometheus lexers
(``promlex.l`` for text 0.0.4, ``openmetricslex.l`` for OpenMetrics 1.0) and, when it
rejects a line, says at which column and what it expected there.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from .parse_errors import ParseError, expected

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# The body of a quoted label value: anything but a bare quote, backslash or newline.
_QUOTED_BODY = re.compile(r'(?:[^"\\\n]|\\.)*')
_TEXT_WS = re.compile(r"[ \t]*")
_TEXT_VALUE = re.compile(r"[^{ \t]+")
_OM_TOKEN = re.compile(r"[^ ]+")
_ESCAPE = re.compile(r"\\(.)", re.S)
_LABEL_ESCAPES = {"\\": "\\", "n": "\n", '"': '"'}
_TEXT_HELP_ESCAPES = {"\\": "\\", "n": "\n"}
_INF_WORDS = frozenset({"inf", "infinity", "+inf", "+infinity", "-inf", "-infinity"})
_MAX_MS = 2**63 - 1

# Exemplar label names and values together may hold at most this many characters.
EXEMPLAR_MAX_CHARS = 128


class ParsedExemplar(NamedTuple):
    labels: dict[str, str]
    value: float
    timestamp: float | None


class ParsedSample(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None
    exemplar: ParsedExemplar | None


def unescape_label_value(raw: str) -> str:
    r"""``\\``, ``\"`` and ``\n`` decoded; any other escape kept verbatim, as Prometheus does."""
    if "\\" not in raw:
        return raw
    return _ESCAPE.sub(lambda m: _LABEL_ESCAPES.get(m.group(1), m.group(0)), raw)


def unescape_help(raw: str, openmetrics: bool) -> str:
    r"""HELP text: text 0.0.4 decodes ``\\`` and ``\n``; OpenMetrics also ``\"``."""
    if "\\" not in raw:
        return raw
    table = _LABEL_ESCAPES if openmetrics else _TEXT_HELP_ESCAPES
    return _ESCAPE.sub(lambda m: table.get(m.group(1), m.group(0)), raw)


def parse_float(token: str) -> float | None:
    """A sample value as Go's ``strconv.ParseFloat`` reads it (without ``_`` or hex), or None."""
    if not token.isascii() or not token.isprintable() or "_" in token or " " in token:
        return None
    try:
        value = float(token)
    except ValueError:
        return None
    if value != value:
        # Go spells NaN without a sign.
        return None if token[0] in "+-" else value
    if value in (math.inf, -math.inf) and token.lower() not in _INF_WORDS:
        return None  # out of range: Go reports an error rather than rounding to infinity
    return value


def parse_text_timestamp(token: str) -> float | None:
    """Text 0.0.4 timestamps are integer milliseconds; returned as float seconds."""
    digits = token[1:] if token[:1] == "-" else token
    if not digits.isdigit() or not digits.isascii() or len(digits) > 19:
        return None
    ms = int(token)
    if abs(ms) > _MAX_MS:
        return None
    return ms / 1000


def parse_om_timestamp(token: str) -> float | None:
    """OpenMetrics timestamps are (possibly fractional) seconds, never NaN or infinite."""
    value = parse_float(token)
    if value is None or value != value or value in (math.inf, -math.inf):
        return None
    return value


class _Line:
    """A cursor over one line that knows how to complain about it."""

    __slots__ = ("i", "lineno", "s")

    def __init__(self, s: str, lineno: int) -> None:
        self.s = s
        self.i = 0
        self.lineno = lineno

    def fail(self, what: str, at: int | None = None) -> ParseError:
        return expected(self.s, self.lineno, self.i if at is None else at, what)

    def skip_ws(self) -> None:
        m = _TEXT_WS.match(self.s, self.i)
        self.i = m.end()  # type: ignore[union-attr]

    def take(self, pattern: re.Pattern[str], what: str) -> str:
        m = pattern.match(self.s, self.i)
        if m is None or m.end() == self.i:
            raise self.fail(what)
        self.i = m.end()
        return m.group()

    def char(self, c: str, what: str | None = None) -> None:
        if self.s[self.i : self.i + 1] != c:
            raise self.fail(what or repr(c))
        self.i += 1

    def peek(self) -> str:
        return self.s[self.i : self.i + 1]

    def quoted(self) -> str:
        start = self.i
        self.char('"', "'\"' opening a label value")
        m = _QUOTED_BODY.match(self.s, self.i)
        end = m.end()  # type: ignore[union-attr]
        if self.s[end : end + 1] != '"':
            raise ParseError(self.lineno, start + 1,
                             "unterminated label value: expected a closing '\"'", self.s)
        self.i = end + 1
        return unescape_label_value(self.s[start + 1 : end])

    def labels(self, text_ws: bool, limit_exemplar: bool = False) -> dict[str, str]:
        """``{name="value",...}`` with the cursor on the brace; a trailing comma is allowed."""
        open_at = self.i
        self.char("{")
        labels: dict[str, str] = {}
        while True:
            if text_ws:
                self.skip_ws()
            if self.peek() == "}":
                self.i += 1
                break
            name_at = self.i
            name = self.take(LABEL_NAME, "a label name or '}'")
            if text_ws:
                self.skip_ws()
            self.char("=", f"'=' after label name {name!r}")
            if text_ws:
                self.skip_ws()
            value = self.quoted()
            if name in labels:
                raise ParseError(self.lineno, name_at + 1, f"duplicate label name {name!r}",
                                 self.s)
            labels[name] = value
            if text_ws:
                self.skip_ws()
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c != "}":
                raise self.fail("',' or '}' after a label value")
        if limit_exemplar and sum(len(k) + len(v) for k, v in labels.items()) > (
            EXEMPLAR_MAX_CHARS
        ):
            raise ParseError(self.lineno, open_at + 1,
                             f"exemplar labels longer than {EXEMPLAR_MAX_CHARS} characters",
                             self.s)
        return labels

    def value(self, pattern: re.Pattern[str], what: str) -> float:
        at = self.i
        token = self.take(pattern, what)
        value = parse_float(token)
        if value is None:
            raise ParseError(self.lineno, at + 1,
                             f"invalid {what}: expected a number, got {token!r}", self.s)
        return value

    def at_end(self) -> bool:
        return self.i >= len(self.s)


def scan_text_sample(line: str, lineno: int) -> ParsedSample:
    """A text 0.0.4 sample line: ``name{labels} value [timestamp_ms]``, spaces or tabs between."""
    cur = _Line(line, lineno)
    cur.skip_ws()
    name = cur.take(METRIC_NAME, "a metric name")
    name_end = cur.i
    cur.skip_ws()
    labels: dict[str, str] = {}
    if cur.peek() == "{":
        labels = cur.labels(text_ws=True)
        cur.skip_ws()
    elif cur.i == name_end:
        raise cur.fail("a space, a tab or '{' after the metric name")
    value = cur.value(_TEXT_VALUE, "sample value")
    timestamp = None
    cur.skip_ws()
    if not cur.at_end():
        if line[cur.i - 1] not in " \t":
            raise cur.fail("a space before the timestamp")
        at = cur.i
        token = cur.take(_TEXT_VALUE, "a timestamp")
        timestamp = parse_text_timestamp(token)
        if timestamp is None:
            raise ParseError(lineno, at + 1,
                             f"expected an integer timestamp in milliseconds, got {token!r}",
                             line)
        cur.skip_ws()
        if not cur.at_end():
            raise cur.fail("end of line after the timestamp")
    return ParsedSample(name, labels, value, timestamp, None)


def scan_om_sample(line: str, lineno: int) -> ParsedSample:
    """An OpenMetrics sample line: ``name{labels} value [ts] [# {labels} value [ts]]``."""
    cur = _Line(line, lineno)
    name = cur.take(METRIC_NAME, "a metric name")
    labels: dict[str, str] = {}
    if cur.peek() == "{":
        labels = cur.labels(text_ws=False)
    cur.char(" ", "a single space before the value")
    value = cur.value(_OM_TOKEN, "sample value")
    timestamp = None
    exemplar = None
    if not cur.at_end():
        cur.char(" ", "a space or end of line after the value")
        if cur.peek() != "#":
            at = cur.i
            token = cur.take(_OM_TOKEN, "a timestamp")
            timestamp = parse_om_timestamp(token)
            if timestamp is None:
                raise ParseError(lineno, at + 1, f"expected a timestamp in seconds, got {token!r}",
                                 line)
            if not cur.at_end():
                cur.char(" ", "a space or end of line after the timestamp")
        if not cur.at_end():
            exemplar = _scan_exemplar(cur)
    return ParsedSample(name, labels, value, timestamp, exemplar)


def _scan_exemplar(cur: _Line) -> ParsedExemplar:
    cur.char("#", "'# ' starting an exemplar")
    cur.char(" ", "a space after '#'")
    if cur.peek() != "{":
        raise cur.fail("'{' opening the exemplar labels")
    labels = cur.labels(text_ws=False, limit_exemplar=True)
    cur.char(" ", "a space before the exemplar value")
    value = cur.value(_OM_TOKEN, "exemplar value")
    timestamp = None
    if not cur.at_end():
        cur.char(" ", "a space or end of line after the exemplar value")
        at = cur.i
        token = cur.take(_OM_TOKEN, "an exemplar timestamp")
        timestamp = parse_om_timestamp(token)
        if timestamp is None:
            raise ParseError(cur.lineno, at + 1,
                             f"expected an exemplar timestamp in seconds, got {token!r}", cur.s)
        if not cur.at_end():
            raise cur.fail("end of line after the exemplar timestamp")
    return ParsedExemplar(labels, value, timestamp)


class Metadata(NamedTuple):
    kind: str  # "HELP", "TYPE" or "UNIT"
    name: str
    text: str


def scan_text_comment(line: str, lineno: int) -> Metadata | None:
    """``# HELP`` / ``# TYPE`` in text 0.0.4, or None for a free comment (which Prometheus skips).

    ``line`` has been stripped of surrounding whitespace and starts with ``#``.
    """
    cur = _Line(line, lineno)
    cur.i = 1
    if cur.peek() not in (" ", "\t"):
        return None
    cur.skip_ws()
    kind = line[cur.i : cur.i + 4]
    if kind not in ("HELP", "TYPE") or line[cur.i + 4 : cur.i + 5] not in (" ", "\t"):
        return None
    cur.i += 4
    cur.skip_ws()
    name = cur.take(METRIC_NAME, f"a metric name after {kind}")
    if cur.at_end():
        if kind == "TYPE":
            raise cur.fail("a metric type after the name")
        return Metadata(kind, name, "")
    if line[cur.i] not in " \t":
        raise cur.fail(f"a space after the metric name in {kind}")
    text = line[cur.i + 1 :]
    if kind == "TYPE":
        text = text.strip(" \t")
    return Metadata(kind, name, text)


def scan_om_metadata(line: str, lineno: int) -> Metadata:
    """``# HELP|TYPE|UNIT name text`` in OpenMetrics, where free comments are not allowed."""
    cur = _Line(line, lineno)
    cur.char("#")
    cur.char(" ", "a space after '#'")
    kind = line[2:6]
    if kind not in ("HELP", "TYPE", "UNIT"):
        raise cur.fail("HELP, TYPE, UNIT or EOF after '# '")
    cur.i = 6
    cur.char(" ", f"a space after {kind}")
    name = cur.take(METRIC_NAME, f"a metric name after {kind}")
    cur.char(" ", f"a space after the metric name in {kind}")
    return Metadata(kind, name, line[cur.i :])
