"""Errors a query can raise, with the kind the HTTP API reports as ``errorType``."""

from __future__ import annotations


class PromQLError(Exception):
    """Base of every query error; ``error_type`` is Prometheus's errorType string."""

    error_type = "execution"


class PromQLParseError(PromQLError):
    """Bad query text; names the line:column where it went wrong and what was expected."""

    error_type = "bad_data"

    def __init__(self, message: str, text: str = "", pos: int = 0) -> None:
        self.pos = pos
        self.message = message
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        self.line, self.column = line, col
        super().__init__(f"{line}:{col}: parse error: {message}")


class PromQLEvalError(PromQLError):
    """A query that parsed but cannot be evaluated (duplicate series, many-to-many...)."""

    error_type = "execution"


class PromQLBadArgument(PromQLError):
    """A request parameter (time, step, range) that cannot be used."""

    error_type = "bad_data"


class PromQLTimeout(PromQLError):
    """The query ran past its timeout (HTTP 503, as Prometheus)."""

    error_type = "timeout"


class PromQLCanceled(PromQLError):
    """The query was cancelled, e.g. its client went away."""

    error_type = "canceled"
