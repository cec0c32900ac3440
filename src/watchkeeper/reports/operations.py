"""How watchkeeper itself fared (its store and its scrapes) and the error groups that are
new or came back in the period."""

from __future__ import annotations

from .common import guarded
from .model import Column, Num, Section, Table
from .period import Period
from .source import Source

STORE = (
    ("series in the store (most)", "short",
     "max(max_over_time(watchkeeper_tsdb_head_series[{p}]))"),
    ("samples stored per second", "ops", "sum(rate(watchkeeper_samples_appended_total[{p}]))"),
    ("samples refused", "count", "sum(increase(watchkeeper_samples_rejected_total[{p}]))"),
    ("scrapes run", "count", "sum(increase(watchkeeper_scrapes_total[{p}]))"),
    ("scrape slots skipped (overran)", "count",
     "sum(increase(watchkeeper_scrapes_late_total[{p}]))"),
    ("store healthy", "percent", '100 * avg(avg_over_time((watchkeeper_health_status'
                                 '{{check="watchkeeper_storage"}} == bool 1)[{p}:1m]))'),
)
UP = "100 * avg_over_time(up[{p}])"
DURATION = "quantile_over_time(0.95, scrape_duration_seconds[{p}])"
SAMPLES = "avg_over_time(scrape_samples_scraped[{p}])"
TOP_TARGETS = 20
IN_PERIOD = "sum by (error_group) (increase(errors_total[{p}]))"
TOP_GROUPS = 15


def store_section(source: Source, period: Period) -> Section:
    section = Section("store", "Store and scrape health")
    p = period.text
    figures = Table("The store", [Column("figure"), Column("value")],
                    empty="no self-metrics in this period")
    section.tables.append(figures)
    with guarded(section, "store figures"):
        for name, unit, template in STORE:
            expr = template.format(p=p)
            found = source.instant(expr, period.end)
            if found:
                figures.rows.append([name, Num(found[0][1], unit, expr)])
    cols = [Column("job"), Column("instance"), Column("up", "percent", UP.format(p=p)),
            Column("scrape p95", "seconds", DURATION.format(p=p)),
            Column("samples per scrape", "short", SAMPLES.format(p=p))]
    targets = Table("Targets, least available first", cols,
                    empty="no scrape targets in this period")
    section.tables.append(targets)
    with guarded(section, "targets"):
        def key(lbl: dict[str, str]) -> tuple[str, str]:
            return lbl.get("job", ""), lbl.get("instance", "")

        up = {key(lbl): v for lbl, v in source.instant(cols[2].query, period.end)}
        dur = {key(lbl): v for lbl, v in source.instant(cols[3].query, period.end)}
        samples = {key(lbl): v for lbl, v in source.instant(cols[4].query, period.end)}
        ranked = sorted(up, key=lambda k: (up[k], k))
        for k in ranked[:TOP_TARGETS]:
            targets.rows.append([k[0], k[1], up[k], dur.get(k), samples.get(k)])
        if len(ranked) > TOP_TARGETS:
            targets.note = f"{len(ranked) - TOP_TARGETS} more targets, all up longer."
    return section


def errors_section(source: Source, period: Period) -> Section:
    section = Section("errors", "Error groups, new and regressed",
                      "Groups first seen in the period, and resolved groups that came back "
                      "in it; counts from the error store, the period's from its "
                      "errors_total series.")
    cols = [Column("error"), Column("type"), Column("where"), Column("first seen"),
            Column("events (all time)", "count", "count of the group", "error store"),
            Column("in the period", "count", IN_PERIOD.format(p=period.text)),
            Column("users", "count", "distinct users (HyperLogLog)", "error store")]
    new = Table("New", cols, empty="no new error group")
    regressed = Table("Regressed", cols, empty="no error group came back")
    section.tables += [new, regressed]
    if source.errors is None:
        section.intro += " No error store was found beside the data."
        return section
    with guarded(section, "error groups"):
        from . import fmt

        counts = source.by(cols[5].query, period.end, "error_group")
        in_period = [g for g in source.errors.groups(sort="first_seen", limit=500)
                     if period.start <= g["first_seen"] <= period.end]
        came_back = [g for g in source.errors.groups(status="open", limit=500)
                     if g["regressed"] and g["regressed_at"]
                     and period.start <= g["regressed_at"] <= period.end]
        for table, groups in ((new, in_period), (regressed, came_back)):
            groups.sort(key=lambda g: -g["count"])
            for g in groups[:TOP_GROUPS]:
                table.rows.append([g["title"], g["error_type"], g["culprit"],
                                   fmt.when(g["first_seen"]), float(g["count"]),
                                   counts.get(g["id"]), float(g["users"])])
            if len(groups) > TOP_GROUPS:
                table.note = f"{len(groups) - TOP_GROUPS} more groups with fewer events."
    return section
