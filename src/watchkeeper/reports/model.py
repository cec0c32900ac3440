"""What a report holds, before it is drawn: sections of tables and charts, each number
with the query that produced it. The renderers (HTML, Markdown) only lay this out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Column:
    """One column; ``query`` is the PromQL whose result, for the row's labels, is each
    number below (or, for figures kept outside the store, where they come from)."""

    title: str
    unit: str = ""
    query: str = ""
    source: str = "PromQL"  # or "alert history", "error store", "analysis"


@dataclass
class Num:
    """A number with its own query, in a table whose rows each come from a different one."""

    value: float | None
    unit: str
    query: str
    source: str = "PromQL"


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)  # str, float, None or Num per column
    note: str = ""
    empty: str = "nothing in this period"


@dataclass
class Line:
    name: str
    times: list[float]  # unix seconds
    values: list[float]  # NaN for a gap
    dashed: bool = False  # the week before, drawn under this week
    color: str = ""


@dataclass
class Chart:
    title: str
    unit: str
    query: str
    lines: list[Line] = field(default_factory=list)
    note: str = ""


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be read, and why
    seconds: float = 0.0  # how long building it took


@dataclass
class Report:
    title: str
    start: float  # unix seconds
    end: float
    period: str  # as asked: "7d"
    generated: float
    sections: list[Section] = field(default_factory=list)
    seconds: float = 0.0  # how long building it took

    def section(self, sid: str) -> Section:
        for s in self.sections:
            if s.id == sid:
                return s
        raise KeyError(sid)
