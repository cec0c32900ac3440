"""A report as one self-contained HTML page: inline CSS and SVG, no script, no request
(a Content-Security-Policy says so), print CSS so a browser's "Save as PDF" gives A4 pages.

Every number carries a note mark leading to the query that produced it: per column when one
query made the whole column, per cell otherwise. Every text from the data is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from . import fmt, svg
from .model import Chart, Num, Report, Section, Table

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
:root{color-scheme:light;--muted:#6b7280;--line:#e5e7eb;--bad:#b91c1c;--good:#15803d}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:0 auto;
max-width:980px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid
var(--line);padding-bottom:4px}h3{font-size:14px;margin:16px 0 6px}
.meta,.intro,.note,.problems{color:var(--muted)}.problems{color:var(--bad)}
nav ol{columns:2;margin:8px 0;padding-left:20px}
table{border-collapse:collapse;width:100%;margin:4px 0 2px;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.n{text-align:right;white-space:nowrap}th.n{text-align:right}
sup a{color:var(--muted);text-decoration:none;font-size:10px}
ol.queries{font-size:11px;color:var(--muted);margin:4px 0 12px;padding-left:26px}
ol.queries code,figure code{font:11px ui-monospace,SFMono-Regular,Menlo,monospace;
color:#374151;word-break:break-all}
figure{margin:12px 0;break-inside:avoid}figcaption{font-weight:600;margin-bottom:2px}
svg.chart{width:100%;height:auto;max-width:720px;display:block}
ul.legend{list-style:none;padding:0;margin:2px 0;display:flex;gap:14px;flex-wrap:wrap;
font-size:12px}ul.legend i{display:inline-block;width:14px;height:0;border-top:2px solid;
vertical-align:middle;margin-right:4px}ul.legend i.dashed{border-top-style:dashed}
@media print{body{padding:0;max-width:none;font-size:11px}nav{display:none}
h2{break-after:avoid}table,figure{break-inside:avoid}a{color:inherit}
@page{size:A4;margin:14mm 12mm}}
"""


def _cell(v: Any, unit: str) -> tuple[str, bool]:
    """(text, is a number)."""
    if isinstance(v, Num):
        return fmt.value(v.value, v.unit), True
    if isinstance(v, float | int) or v is None:
        return fmt.value(v, unit), bool(unit)
    return str(v), False


class _Notes:
    """The numbered queries of one section, each listed once."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.items: list[tuple[str, str]] = []

    def mark(self, source: str, query: str) -> str:
        item = (source, query)
        if item not in self.items:
            self.items.append(item)
        n = self.items.index(item) + 1
        return f'<sup><a href="#{self.sid}-q{n}" title="{escape(query)}">[{n}]</a></sup>'

    def html(self) -> str:
        if not self.items:
            return ""
        rows = "".join(f'<li id="{self.sid}-q{n}">{escape(src)}: <code>{escape(q)}</code></li>'
                       for n, (src, q) in enumerate(self.items, 1))
        return f'<ol class="queries">{rows}</ol>'


def _table(t: Table, notes: _Notes) -> str:
    out = [f"<h3>{escape(t.title)}</h3>"]
    if not t.rows:
        out.append(f'<p class="note">{escape(t.empty)}.</p>')
        return "".join(out)
    head = []
    for c in t.columns:
        mark = notes.mark(c.source, c.query) if c.query else ""
        head.append(f'<th{" class=n" if c.unit else ""}>{escape(c.title)}{mark}</th>')
    out.append(f"<table><thead><tr>{''.join(head)}</tr></thead><tbody>")
    for row in t.rows:
        cells = []
        for c, v in zip(t.columns, row, strict=True):
            text, numeric = _cell(v, c.unit)
            mark = notes.mark(v.source, v.query) if isinstance(v, Num) else ""
            cells.append(f'<td{" class=n" if numeric else ""}>{escape(text)}{mark}</td>')
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    if t.note:
        out.append(f'<p class="note">{escape(t.note)}</p>')
    return "".join(out)


def _chart(c: Chart, report: Report) -> str:
    legend = "".join(
        f'<li><i class="{"dashed" if ln.dashed else ""}" style="border-color:{color}"></i>'
        f"{escape(ln.name)}</li>" for ln, color in zip(c.lines, svg.colors(c), strict=True))
    return (f'<figure><figcaption>{escape(c.title)}</figcaption>'
            f"{svg.line_chart(c, report.start, report.end)}"
            f'<ul class="legend">{legend}</ul><code>{escape(c.query)}</code></figure>')


def _section(s: Section, report: Report) -> str:
    notes = _Notes(s.id)
    body = [f'<section id="{s.id}"><h2>{escape(s.title)}</h2>']
    if s.intro:
        body.append(f'<p class="intro">{escape(s.intro)}</p>')
    for t in s.tables:
        body.append(_table(t, notes))
    body.append(notes.html())
    body += [_chart(c, report) for c in s.charts if c.lines]
    if s.problems:
        items = "".join(f"<li>{escape(p)}</li>" for p in s.problems)
        body.append(f'<ul class="problems">{items}</ul>')
    body.append("</section>")
    return "".join(body)


def render_html(report: Report) -> str:
    """The whole page."""
    nav = "".join(f'<li><a href="#{s.id}">{escape(s.title)}</a></li>' for s in report.sections)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(report.title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(report.title)}</h1>"
        f'<p class="meta">{fmt.when(report.start)} to {fmt.when(report.end)} UTC '
        f"({escape(report.period)}); built {fmt.when(report.generated)} UTC in "
        f"{report.seconds:.2f} s. Each number's mark leads to the query that produced it."
        f"</p><nav><ol>{nav}</ol></nav></header>"
        + "".join(_section(s, report) for s in report.sections)
        + "</body></html>\n")
