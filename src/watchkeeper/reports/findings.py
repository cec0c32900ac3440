"""What stood out: the dashboard lines whose level or spread changed most, the most
anomalous points, and the filesystems closest to full, through the analysis room's
functions.

Changes are ranked over what the dashboards draw (every panel of the built-in and the
configured dashboards, and the golden signals first), not over every raw series: those are
the lines someone looks at, they come aggregated, and a week of them is a few hundred rows
where a week of 10,000 raw series is tens of millions of samples to decode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from watchkeeper.analysis.resources import all_resources
from watchkeeper.analysis.views import capacity

from . import fmt
from .common import guarded
from .model import Column, Num, Section, Table
from .period import Period
from .source import Source

TOP = 10
RECORDED = "watchkeeper:anomaly_score"
MAX_ROWS = 400  # series ranked: the dashboards' panels, at most this many lines in all
PER_PANEL = 12
SCORED_SERIES = 8  # series scored here when the server records no anomaly scores
HISTORY = 0.5  # the detector first learns on this share of a period before it


@dataclass
class _Rows:
    """The lines of every dashboard panel over the period, one row each, with the
    expression that drew it."""

    names: list[str] = field(default_factory=list)
    exprs: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    labels: list[dict[str, str]] = field(default_factory=list)
    times: np.ndarray | None = None


def _panel_rows(source: Source, period: Period, extra: list[tuple[str, str, str]],
                section: Section) -> _Rows:
    from watchkeeper.dashboard.panels import all_dashboards

    panels = [(f"{d.title}: {p.title}", p.expr, p.unit, p.legend)
              for d in all_dashboards(source.dashboards) for p in d.panels()]
    panels = [(t, e, u, "") for t, e, u in extra] + panels
    out = _Rows()
    for title, expr, unit, legend in panels:
        if len(out.names) >= MAX_ROWS:
            break
        try:
            labels, times, values = source.range(expr, period.start, period.end,
                                                 period.step)
        except Exception as e:  # one broken panel never hides the others
            section.problems.append(f"{title}: {e}")
            continue
        if out.times is None:
            out.times = times
        for lbl, row in list(zip(labels, values, strict=True))[:PER_PANEL]:
            line = fmt.series_name(lbl, legend) if lbl else ""
            out.names.append(f"{title}: {line}" if line else title)
            out.exprs.append(expr)
            out.units.append(unit)
            out.values.append(row)
            out.labels.append(lbl)
    return out


def changes_section(source: Source, period: Period, extra: list[tuple[str, str, str]],
                    ) -> Section:
    """``extra``: (title, expr, unit) of lines worth ranking first (the golden signals)."""
    from watchkeeper.analysis.changes import rank_changes

    section = Section("changes", "Top anomalies and changes")
    points = max(3, int(period.seconds / 5 // period.step))
    window = points * period.step
    at = period.end - window
    section.intro = (f"Every line of the dashboards' panels at a {fmt.duration(period.step)} "
                     f"step: its last {fmt.duration(window)} against the "
                     f"{fmt.duration(4 * window)} before (medians; the spread is the ratio of "
                     "interquartile ranges; the time is CUSUM's change point).")
    cols = [Column("line"), Column("before"), Column("after"),
            Column("spread x", "", "IQR after / IQR before", "analysis"), Column("changed at"),
            Column("score", "", "level move in robust sigmas + 3 |log2 spread x|",
                   "analysis")]
    table = Table("What changed", cols, empty="no line changed")
    section.tables.append(table)
    rows = _Rows()
    changed: list[int] = []
    with guarded(section, "what changed"):
        rows = _panel_rows(source, period, extra, section)
        if rows.names and rows.times is not None:
            grid = np.vstack(rows.values)
            for c in rank_changes(rows.times, grid, at, window, top=TOP):
                if c.score < 1:  # less than a robust sigma: noise, not a change
                    continue
                changed.append(c.row)
                expr, unit = rows.exprs[c.row], rows.units[c.row]
                table.rows.append([rows.names[c.row], Num(c.level_before, unit, expr),
                                   Num(c.level_after, unit, expr), c.spread_ratio,
                                   fmt.when(c.at), c.score])
    section.tables.append(_anomalies(source, period, rows, changed, section))
    return section


def _anomalies(source: Source, period: Period, rows: _Rows, changed: list[int],
               section: Section) -> Table:
    recorded = f"topk({TOP}, max_over_time({RECORDED}[{period.text}]))"
    table = Table("Most anomalous", [Column("line"), Column("peak score", "", ""),
                                     Column("at"), Column("value there")],
                  empty="no point scored 0.5 or more")
    with guarded(section, "anomalies"):
        found = source.instant(recorded, period.end)
        if found:  # the server scores series as it runs: read its figures
            _recorded(source, period, table, recorded, found)
            return table
        from watchkeeper.analysis.anomaly import ANOMALY_THRESHOLD, anomaly_scores

        picked = list(dict.fromkeys([*range(min(3, len(rows.names))), *changed]))
        picked = picked[:SCORED_SERIES]
        table.note = (f"Scored here by the streaming detector at a "
                      f"{fmt.duration(period.step)} step (each point from the ones before "
                      f"it, after half a period of history) over {len(picked)} lines: the "
                      "golden signals and the largest changes.")
        table.columns[1].source = "analysis"
        table.columns[1].query = "anomaly score of the line (streaming detector)"
        out = []
        for i in picked:
            t, row = _with_history(source, period, rows, i)
            ok = np.isfinite(row)
            if ok.sum() < 10:
                continue
            scores = anomaly_scores(row[ok], step_s=period.step)
            inside = t[ok] >= period.start
            if not inside.any():
                continue
            j = int(np.argmax(np.where(inside, scores, -1.0)))
            if scores[j] >= ANOMALY_THRESHOLD:
                out.append([rows.names[i], float(scores[j]), fmt.when(float(t[ok][j])),
                            Num(float(row[ok][j]), rows.units[i], rows.exprs[i])])
        table.rows = sorted(out, key=lambda r: -r[1])[:TOP]
    return table


def _recorded(source: Source, period: Period, table: Table, query: str,
              found: list[tuple[dict[str, str], float]]) -> None:
    """The peaks of the scores the server recorded, with when each was reached."""
    table.columns[1].query = query
    peaks = f"max_over_time({RECORDED}[{period.window}])"
    table.columns[2].query, table.columns[2].source = f"the step where {peaks} peaks", "PromQL"
    labels, times, values = source.range(peaks, period.start, period.end, period.step)
    when = {tuple(sorted(lbl.items())): times[int(np.nanargmax(row))]
            for lbl, row in zip(labels, values, strict=True) if np.isfinite(row).any()}
    for lbl, score in sorted(found, key=lambda r: -r[1]):
        rest = {k: v for k, v in lbl.items() if k not in ("expr", "metric")}
        if lbl.get("metric"):
            rest["__name__"] = lbl["metric"]
        name = lbl.get("expr", "")
        if rest:
            name = f"{name}: {fmt.series_name(rest)}" if name else fmt.series_name(rest)
        at = when.get(tuple(sorted(lbl.items())))
        table.rows.append([name, score, fmt.when(float(at)) if at is not None else None,
                           None])


def _with_history(source: Source, period: Period, rows: _Rows, i: int,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Row ``i``'s times and values, preceded by ``HISTORY`` of a period for the detector
    to learn on (read for the scored lines only)."""
    assert rows.times is not None
    labels, times, values = source.range(rows.exprs[i], period.start - HISTORY * period.seconds,
                                         period.start - period.step, period.step)
    for lbl, before in zip(labels, values, strict=True):
        if lbl == rows.labels[i]:
            return np.concatenate([times, rows.times]), np.concatenate([before, rows.values[i]])
    return rows.times, rows.values[i]


def capacity_section(source: Source, period: Period) -> Section:
    section = Section("capacity", "Capacity",
                      "Time until each writable disk, its inodes, memory, file descriptors "
                      "and pools run out, fitted on the hourly maxima of what is used (robust "
                      "to log rotation), with its 80 % interval; soonest first.")
    cols = [Column("resource"), Column("what"),
            Column("used", "percentunit", "used / limit at the end", "analysis"),
            Column("growth per day", "", "Theil-Sen slope of the hourly maxima of the "
                   "resource's use", "analysis"),
            Column("full in", "seconds", "time until full", "analysis"),
            Column("80 % interval")]
    table = Table("What runs out", cols, empty="no resource with a day of history")
    section.tables.append(table)
    with guarded(section, "capacity"):
        rows = capacity(source.engine, int(period.end * 1000),
                        int(max(period.seconds, 86400) * 1000))
        used_expr = {r.name: r.used for r in all_resources()}
        for r in rows:
            lbl = {k: v for k, v in r["labels"].items() if k != "resource"}
            name = lbl.get("mountpoint") or (fmt.series_name(lbl) if lbl else "this host")
            if lbl.get("instance"):
                name += f" on {lbl['instance']}"
            upper = r["upper"]
            interval = fmt.DASH if r["seconds"] is None else (
                f"{fmt.duration(r['lower'])} to "
                + (fmt.duration(upper) if upper is not None and math.isfinite(upper)
                   else "never"))
            full_in = r["seconds"] if r["seconds"] is not None else "not growing"
            growth = Num(r["growth_per_day"], r["unit"], used_expr.get(r["resource"], ""))
            table.rows.append([r["resource"], name, r["used_ratio"], growth, full_in,
                               interval])
    return section
