"""Split PromQL text into tokens, each with its offset for precise error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from watchkeeper.promql.errors import PromQLParseError

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset"}
# longest first so that '==' wins over '=' and '=~' over '='
OPERATORS = ["==", "!=", ">=", "<=", "=~", "!~", "+", "-", "*", "/", "%", "^", ">", "<",
             "=", "(", ")", "{", "}", "[", "]", ",", ":", "@"]

_SPACE = re.compile(r"(?:\s+|#[^\n]*)+")
_DURATION = re.compile(r"(?:[0-9]+(?:ms|[smhdwy]))+(?![0-9a-zA-Z_])")
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?![0-9a-zA-Z_:.])"
)
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", "'": "'", '"': '"'}


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER, DURATION, STRING, IDENT, KEYWORD, OP, EOF
    text: str
    pos: int
    value: object = None

    def describe(self) -> str:
        if self.kind == "EOF":
            return "end of input"
        if self.kind == "STRING":
            return f"string {self.text}"
        return f"{self.kind.lower() if self.kind != 'OP' else 'character'} {self.text!r}"


def _read_string(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    if quote == "`":
        end = text.find("`", pos + 1)
        if end < 0:
            raise PromQLParseError("unterminated raw string", text, pos)
        return text[pos + 1:end], end + 1
    out, i = [], pos + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\n":
            break
        if ch == "\\":
            i += 1
            if i >= len(text):
                break
            esc = text[i]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                i += 1
                continue
            size = {"x": 2, "u": 4, "U": 8}.get(esc)
            if size is not None or esc in "01234567":
                digits = text[i + 1:i + 1 + size] if size else text[i:i + 3]
                base = 8 if size is None else 16
                try:
                    out.append(chr(int(digits, base)))
                except ValueError:
                    raise PromQLParseError(f"invalid escape sequence \\{esc}", text, i) from None
                i += (size + 1) if size else 3
                continue
            raise PromQLParseError(f"unknown escape sequence {esc!r}", text, i)
        out.append(ch)
        i += 1
    raise PromQLParseError("unterminated quoted string", text, pos)


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text`` followed by an EOF token; raises PromQLParseError."""
    tokens: list[Token] = []
    pos, n = 0, len(text)
    in_brackets = False  # inside [...] a ':' separates a subquery's range and step
    while True:
        m = _SPACE.match(text, pos)
        if m:
            pos = m.end()
        if pos >= n:
            tokens.append(Token("EOF", "", pos))
            return tokens
        ch = text[pos]
        if ch in "\"'`":
            value, end = _read_string(text, pos)
            tokens.append(Token("STRING", text[pos:end], pos, value))
            pos = end
            continue
        if ch.isdigit() or (ch == "." and pos + 1 < n and text[pos + 1].isdigit()):
            m = _DURATION.match(text, pos)
            if m:
                tokens.append(Token("DURATION", m.group(), pos))
                pos = m.end()
                continue
            m = _NUMBER.match(text, pos)
            if not m:
                raise PromQLParseError(f"bad number or duration syntax: {text[pos:pos+10]!r}",
                                       text, pos)
            raw = m.group()
            value = float(int(raw, 16)) if raw[:2].lower() == "0x" else float(raw)
            tokens.append(Token("NUMBER", raw, pos, value))
            pos = m.end()
            continue
        m = None if in_brackets and ch == ":" else _IDENT.match(text, pos)
        if m:
            word = m.group()
            kind = "KEYWORD" if word.lower() in KEYWORDS else "IDENT"
            tokens.append(Token(kind, word, pos))
            pos = m.end()
            continue
        for op in OPERATORS:
            if text.startswith(op, pos):
                tokens.append(Token("OP", op, pos))
                pos += len(op)
                in_brackets = op == "[" or (in_brackets and op != "]")
                break
        else:
            raise PromQLParseError(f"unexpected character {ch!r}", text, pos)
