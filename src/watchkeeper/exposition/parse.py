"""Parse Prometheus exposition text into metric families: the API the scraper and CLI use.

``text_string_to_metric_families`` and ``text_fd_to_metric_families`` read text 0.0.4 and
``openmetrics_*`` read OpenMetrics 1.0, as generators, like prometheus_client's parsers (the
fd variants stream: OpenMetrics line by line, text 0.0.4 in batches of lines, so a large file
costs the memory of its largest family).
``parse`` picks the format from an HTTP Content-Type. Anything Prometheus would reject raises
``ParseError`` (a ``ValueError``) naming the line and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

from ..metrics.family import Metric
from .parse_errors import ParseError
from .parse_openmetrics import parse_openmetrics_lines
from .parse_text import parse_text_lines, text_is_clean

__all__ = [
    "ParseError",
    "openmetrics_fd_to_metric_families",
    "openmetrics_string_to_metric_families",
    "parse",
    "text_fd_to_metric_families",
    "text_string_to_metric_families",
]

OPENMETRICS_MEDIA_TYPE = "application/openmetrics-text"


def _decode_line(raw: bytes, lineno: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError(lineno, e.start + 1, "invalid UTF-8") from None


def _fd_lines(fd: IO[str] | IO[bytes] | Iterable[str | bytes]) -> Iterator[str]:
    """Lines without their ``\\n``; bytes are decoded as UTF-8, strictly."""
    for lineno, line in enumerate(fd, 1):
        if line.__class__ is not str:
            line = _decode_line(line, lineno)  # type: ignore[arg-type]
        if line[-1:] == "\n":
            line = line[:-1]
        yield line  # type: ignore[misc]


def _string_lines(text: str | bytes) -> list[str]:
    if not isinstance(text, str):
        text = decode(text)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def decode(data: bytes) -> str:
    """UTF-8 text, or a ParseError at the line and column of the first bad byte."""
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ParseError(line, column, "invalid UTF-8") from None


def text_string_to_metric_families(text: str) -> Iterator[Metric]:
    """Families from Prometheus text format 0.0.4 held in a string."""
    if not isinstance(text, str):
        text = decode(text)
    yield from parse_text_lines(_string_lines(text), text_is_clean(text))


def text_fd_to_metric_families(fd: IO[str] | IO[bytes] | Iterable[str | bytes]) -> Iterator[Metric]:
    """Families from a file (or any iterable of lines) in Prometheus text format 0.0.4."""
    yield from parse_text_lines(_fd_lines(fd))


def openmetrics_string_to_metric_families(text: str) -> Iterator[Metric]:
    """Families from OpenMetrics 1.0 text held in a string (which must end with ``# EOF``)."""
    yield from parse_openmetrics_lines(_string_lines(text))


def openmetrics_fd_to_metric_families(
    fd: IO[str] | IO[bytes] | Iterable[str | bytes],
) -> Iterator[Metric]:
    """Families from a file of OpenMetrics 1.0, streamed: one family in memory at a time."""
    yield from parse_openmetrics_lines(_fd_lines(fd))


def is_openmetrics(content_type: str | None) -> bool:
    """True when a Content-Type names OpenMetrics text; anything else is read as text 0.0.4."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == OPENMETRICS_MEDIA_TYPE


def parse(data: bytes | str, content_type: str | None = None) -> list[Metric]:
    """All families of a scrape body, in the format its Content-Type names.

    OpenMetrics when the media type is ``application/openmetrics-text``; otherwise text 0.0.4,
    which is also what Prometheus falls back to for a missing or unknown Content-Type.
    """
    text = data if isinstance(data, str) else decode(data)
    if is_openmetrics(content_type):
        return list(openmetrics_string_to_metric_families(text))
    return list(text_string_to_metric_families(text))
