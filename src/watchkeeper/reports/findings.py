"""What stood out: the series whose level or spread changed most, the most anomalous
points, and the filesystems closest to full, through the analysis room's functions."""

from __future__ import annotations

import math

import numpy as np

from watchkeeper.analysis.views import capacity, what_changed

from . import fmt
from .common import guarded
from .model import Column, Num, Section, Table
from .period import Period, duration_text
from .source import Source

TOP = 10
RECORDED = "watchkeeper:anomaly_score"
SCORED_SERIES = 6  # series scored here when the server records no anomaly scores
#: Gauges only: a counter's level always grows, and a histogram's parts follow its count.
GAUGES = '{__name__=~".+", __name__!~".+(_total|_count|_sum|_bucket|_created)"}'
CAPACITY_EXPR = "node_filesystem_size_bytes - node_filesystem_avail_bytes"


def changes_section(source: Source, period: Period, extra: list[str]) -> Section:
    """``extra``: expressions worth scoring for anomalies (the golden signals' charts)."""
    section = Section("changes", "Top anomalies and changes")
    window = period.seconds / 5
    at = period.end - window
    w = duration_text(window)
    section.intro = (f"Changes: every gauge, its last {fmt.duration(window)} against the "
                     f"{fmt.duration(4 * window)} before (medians; the spread is the ratio "
                     "of interquartile ranges; the time is CUSUM's change point).")
    grid = f"analysis at a {fmt.duration(window / 120)} step; in PromQL about"
    cols = [Column("series"),
            Column("before", "", f"quantile_over_time(0.5, SERIES[{duration_text(4 * window)}]"
                                 f" offset {w})", grid),
            Column("after", "", f"quantile_over_time(0.5, SERIES[{w}])", grid),
            Column("spread x", "", "IQR after / IQR before", "analysis"),
            Column("changed at"),
            Column("score", "", "level move in robust sigmas + 3 |log2 spread x|",
                   "analysis")]
    table = Table("What changed", cols, empty="no series changed")
    section.tables.append(table)
    changed: list[str] = []
    with guarded(section, "what changed"):
        rows = what_changed(source.engine, int(at * 1000), int(window * 1000), GAUGES,
                            top=TOP)
        for r in rows:
            name = fmt.series_name(r["labels"])
            changed.append(name)
            table.rows.append([name, r["before"], r["after"], r["spread_ratio"],
                               fmt.when(r["changed_at"]), r["score"]])
    section.tables.append(_anomalies(source, period, [*extra, *changed], section))
    return section


def _anomalies(source: Source, period: Period, candidates: list[str],
               section: Section) -> Table:
    p = period.text
    recorded = f"topk({TOP}, max_over_time({RECORDED}[{p}]))"
    table = Table("Most anomalous", [Column("series"), Column("peak score", "", ""),
                                     Column("at"), Column("value there")],
                  empty="no point scored 0.5 or more")
    with guarded(section, "anomalies"):
        rows = source.instant(recorded, period.end)
        if rows:  # the server scores series as it runs: read its figures
            table.columns[1].query = recorded
            for lbl, score in sorted(rows, key=lambda r: -r[1]):
                table.rows.append([fmt.series_name(lbl), score, None, None])
            return table
        from watchkeeper.analysis.anomaly import ANOMALY_THRESHOLD, anomaly_scores

        table.note = (f"Scored here at a {fmt.duration(period.step)} step by the streaming "
                      f"detector (each point from the ones before it, with half a period of "
                      f"history first), over {SCORED_SERIES} series: the golden signals and "
                      "the largest changes.")
        table.columns[1].source = "analysis"
        table.columns[1].query = "anomaly score of SERIES (streaming detector)"
        warm = period.start - period.seconds / 2
        found = []
        for expr in list(dict.fromkeys(candidates))[:SCORED_SERIES]:
            labels, times, values = source.range(expr, warm, period.end, period.step)
            for lbl, row in zip(labels[:2], values[:2], strict=False):
                ok = np.isfinite(row)
                if ok.sum() < 10:
                    continue
                scores = anomaly_scores(row[ok])
                t, v = times[ok], row[ok]
                inside = t >= period.start
                if not inside.any():
                    continue
                i = int(np.argmax(np.where(inside, scores, -1.0)))
                if scores[i] >= ANOMALY_THRESHOLD:
                    name = fmt.series_name(lbl) if lbl else expr
                    found.append([name, float(scores[i]), fmt.when(float(t[i])),
                                  Num(float(v[i]), "", expr)])
        table.rows = sorted(found, key=lambda r: -r[1])[:TOP]
    return table


def capacity_section(source: Source, period: Period) -> Section:
    section = Section("capacity", "Capacity",
                      "Time until each writable filesystem is full, fitted on the hourly "
                      "maxima of the space used (robust to log rotation), with its 80 % "
                      "interval; soonest first.")
    cols = [Column("filesystem"), Column("used", "percentunit", "used / size at the end",
                                         "analysis"),
            Column("growth per day", "bytes",
                   f"Theil-Sen slope of the hourly maxima of {CAPACITY_EXPR}", "analysis"),
            Column("full in", "seconds", "time until full", "analysis"),
            Column("80 % interval")]
    table = Table("Filesystems", cols, empty="no node_filesystem_* series with a week of "
                                             "history")
    section.tables.append(table)
    with guarded(section, "capacity"):
        rows = capacity(source.engine, int(period.end * 1000),
                        int(max(period.seconds, 86400) * 1000))
        for r in rows:
            lbl = r["labels"]
            name = lbl.get("mountpoint") or fmt.series_name(lbl)
            if lbl.get("instance"):
                name += f" on {lbl['instance']}"
            upper = r["upper"]
            interval = fmt.DASH if r["seconds"] is None else (
                f"{fmt.duration(r['lower'])} to "
                + (fmt.duration(upper) if upper is not None and math.isfinite(upper)
                   else "never"))
            full_in = r["seconds"] if r["seconds"] is not None else "not growing"
            table.rows.append([name, r["used_ratio"], r["growth_per_day"], full_in, interval])
    return section
