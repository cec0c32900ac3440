"""A report as Markdown (GitHub's tables): for a chat, a ticket or a terminal. Charts
become one line of block characters each, with their lowest and highest value; every
number's ``[n]`` points at the query listed under its section."""

from __future__ import annotations

import math
from typing import Any

from . import fmt
from .model import Chart, Num, Report, Section, Table

BLOCKS = "▁▂▃▄▅▆▇█"
WIDTH = 60


def _md(text: str) -> str:
    """Text safe inside a table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def sparkline(values: list[float], width: int = WIDTH) -> str:
    """One block per column (the mean of its finite points), a space for a gap."""
    n = len(values)
    if n == 0:
        return ""
    cols = []
    for i in range(min(width, n)):
        chunk = [v for v in values[i * n // min(width, n):(i + 1) * n // min(width, n)]
                 if math.isfinite(v)]
        cols.append(sum(chunk) / len(chunk) if chunk else math.nan)
    finite = [v for v in cols if math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = hi - lo or 1.0
    return "".join(" " if not math.isfinite(v) else BLOCKS[min(7, int((v - lo) / span * 8))]
                   for v in cols)


class _Notes:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def mark(self, source: str, query: str) -> str:
        if (source, query) not in self.items:
            self.items.append((source, query))
        return f" [{self.items.index((source, query)) + 1}]"


def _cell(v: Any, unit: str, notes: _Notes) -> str:
    if isinstance(v, Num):
        return fmt.value(v.value, v.unit) + notes.mark(v.source, v.query)
    if isinstance(v, float | int) or v is None:
        return fmt.value(v, unit)
    return _md(v)


def _table(t: Table, notes: _Notes) -> list[str]:
    out = [f"### {t.title}", ""]
    if not t.rows:
        return [*out, f"_{t.empty}._", ""]
    head = [_md(c.title) + (notes.mark(c.source, c.query) if c.query else "")
            for c in t.columns]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join("---:" if c.unit else "---" for c in t.columns) + "|")
    for row in t.rows:
        out.append("| " + " | ".join(_cell(v, c.unit, notes)
                                     for c, v in zip(t.columns, row, strict=True)) + " |")
    if t.note:
        out += ["", f"_{t.note}_"]
    return [*out, ""]


def _chart(c: Chart, notes: _Notes) -> list[str]:
    out = [f"**{c.title}**{notes.mark('PromQL', c.query)}", "", "```"]
    for ln in c.lines:
        finite = [v for v in ln.values if math.isfinite(v)]
        if not finite:
            continue
        out.append(f"{sparkline(ln.values)}  {ln.name}{' (dashed)' if ln.dashed else ''}: "
                   f"{fmt.value(min(finite), c.unit)} to {fmt.value(max(finite), c.unit)}")
    return [*out, "```", ""]


def _section(s: Section) -> list[str]:
    notes = _Notes()
    out = [f"## {s.title}", ""]
    if s.intro:
        out += [s.intro, ""]
    for t in s.tables:
        out += _table(t, notes)
    for c in s.charts:
        if c.lines:
            out += _chart(c, notes)
    if s.problems:
        out += [f"- could not read {p}" for p in s.problems] + [""]
    if notes.items:
        out += [f"{n}. {src}: `{q}`" for n, (src, q) in enumerate(notes.items, 1)] + [""]
    return out


def render_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "",
             f"{fmt.when(report.start)} to {fmt.when(report.end)} UTC ({report.period}); "
             f"built {fmt.when(report.generated)} UTC in {report.seconds:.2f} s. "
             "Each [n] is the query under the section that produced the number.", ""]
    for s in report.sections:
        lines += _section(s)
    return "\n".join(lines).rstrip() + "\n"
