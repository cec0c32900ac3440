"""The one error the exposition parsers raise: it says which line, which column, and why.

A scrape of a broken target or a hand-written textfile should tell its author where to look,
so every rejection carries a 1-based line and column and what the parser expected there.
"""

from __future__ import annotations


class ParseError(ValueError):
    """Exposition text that Prometheus would reject (a ``ValueError``, as in prometheus_client)."""

    def __init__(self, line: int, column: int, message: str, text: str | None = None) -> None:
        self.line = line
        self.column = column
        self.reason = message
        self.text = text
        where = f"line {line}, column {column}: {message}"
        if text is not None:
            shown = text if len(text) <= 120 else text[:117] + "..."
            where += f" in {shown!r}"
        super().__init__(where)


def expected(line_text: str, lineno: int, index: int, what: str) -> ParseError:
    """A ParseError for ``what`` missing at ``index`` (0-based) of ``line_text``."""
    got = "end of line" if index >= len(line_text) else repr(line_text[index : index + 12])
    return ParseError(lineno, index + 1, f"expected {what}, got {got}", line_text)
