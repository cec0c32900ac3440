"""A cursor over a query's tokens: the one in hand, the ones ahead, and errors that point
at the line:column where the text stopped making sense."""

from __future__ import annotations

from watchkeeper.promql.errors import PromQLParseError
from watchkeeper.promql.lexer import Token, tokenize


class TokenCursor:
    """The tokens of ``text`` and a position in them; the last token is always EOF."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "EOF":
            self.i += 1
        return tok

    def error(self, message: str, pos: int | None = None) -> PromQLParseError:
        return PromQLParseError(message, self.text, self.tok.pos if pos is None else pos)

    def unexpected(self, expected: str) -> PromQLParseError:
        return self.error(f"unexpected {self.tok.describe()}, expected {expected}")

    def is_op(self, text: str) -> bool:
        return self.tok.kind == "OP" and self.tok.text == text

    def is_keyword(self, word: str) -> bool:
        return self.tok.kind == "KEYWORD" and self.tok.text.lower() == word

    def expect_op(self, text: str) -> Token:
        if not self.is_op(text):
            raise self.unexpected(f'"{text}"')
        return self.advance()
