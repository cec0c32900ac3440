"""Availability per health check, and the alerts of the period.

Health results are samples (``watchkeeper_health_status``: 1 healthy, 0.5 degraded, 0
unhealthy), so uptime, outages and time down are PromQL over their history, sampled each
minute. Alerts are the ``ALERTS`` series the rule evaluator writes; acknowledgement and
resolution times come from the alert history, which is where they are kept.
"""

from __future__ import annotations

import math

from .common import guarded, incidents, median_seconds
from .model import Chart, Column, Line, Section, Table
from .period import Period
from .source import Source

HEALTH = "watchkeeper_health_status"
UPTIME = f"100 * avg by (check) (avg_over_time(({HEALTH} > bool 0)[{{p}}:1m]))"
OUTAGES = (f"sum by (check) (sum_over_time((({HEALTH} == bool 0) > bool ({HEALTH} offset 1m "
           f"== bool 0))[{{p}}:1m]))")
DOWN = f"60 * sum by (check) (count_over_time(({HEALTH} == 0)[{{p}}:1m]))"
UPTIME_CHART = f"100 * avg by (check) (avg_over_time(({HEALTH} > bool 0)[{{w}}:1m]))"

FIRED = ('sum by (alertname) (sum_over_time((ALERTS{{alertstate="firing"}} unless '
         'ALERTS{{alertstate="firing"}} offset 1m)[{p}:1m]))')
FIRING = 'sum by (alertname) (60 * count_over_time(ALERTS{{alertstate="firing"}}[{p}:1m]))'
FIRING_CHART = ('max_over_time(count(ALERTS{{alertstate="firing"}})[{w}:1m]) or '
                'vector(0)')
TOP_RULES = 15
CHART_CHECKS = 8


def health_section(source: Source, period: Period) -> Section:
    section = Section("availability", "Availability",
                      "Each health check's share of the period not unhealthy, how often it "
                      "went down and for how long; acknowledgement and resolution times are "
                      "those of the alerts naming the check.")
    p = period.text
    cols = [Column("check"),
            Column("uptime", "percent", UPTIME.format(p=p)),
            Column("outages", "count", OUTAGES.format(p=p)),
            Column("time down", "seconds", DOWN.format(p=p)),
            Column("alerts", "count", "incidents labelled with the check",
                   "alert history"),
            Column("time to ack", "seconds", "median of acknowledged - started",
                   "alert history"),
            Column("time to resolve", "seconds", "median of resolved - started",
                   "alert history")]
    table = Table("Health checks", cols, empty="no health check results in this period")
    section.tables.append(table)
    with guarded(section, "health checks"):
        uptime = source.by(cols[1].query, period.end, "check")
        outages = source.by(cols[2].query, period.end, "check")
        down = source.by(cols[3].query, period.end, "check")
        by_check: dict[str, list[dict]] = {}
        for inc in incidents(source, period):
            if inc["labels"].get("check") and inc["started_ms"] >= period.start * 1000:
                by_check.setdefault(inc["labels"]["check"], []).append(inc)
        for check in sorted(uptime, key=lambda c: (uptime[c], c)):
            found = by_check.get(check, [])
            table.rows.append([
                check, uptime[check], outages.get(check, 0.0), down.get(check, 0.0),
                float(len(found)) if source.history is not None else None,
                median_seconds([(i["started_ms"], i["acked_ms"]) for i in found]),
                median_seconds([(i["started_ms"], i["resolved_ms"]) for i in found])])
        worst = [r[0] for r in table.rows if r[1] < 100][:CHART_CHECKS]
        if worst:
            expr = UPTIME_CHART.format(w=period.window)
            chart = Chart("Uptime of the checks that went down", "percent", expr)
            labels, times, values = source.range(expr, period.start, period.end, period.step)
            for lbl, row in zip(labels, values, strict=True):
                if lbl.get("check") in worst:
                    chart.lines.append(Line(lbl["check"], times.tolist(), row.tolist()))
            section.charts.append(chart)
    return section


def alerts_section(source: Source, period: Period) -> Section:
    section = Section("alerts", "Alerts",
                      "How often each rule started firing, for how long in all, and how "
                      "quickly its incidents were acknowledged and resolved; noisiest first.")
    p = period.text
    cols = [Column("rule"),
            Column("times fired", "count", FIRED.format(p=p)),
            Column("time firing", "seconds", FIRING.format(p=p)),
            Column("incidents", "count", "incidents of the rule started in the period",
                   "alert history"),
            Column("acknowledged", "count", "of those, acknowledged", "alert history"),
            Column("time to ack", "seconds", "median of acknowledged - started",
                   "alert history"),
            Column("time to resolve", "seconds", "median of resolved - started",
                   "alert history")]
    table = Table("Noisiest rules", cols, empty="no alert fired in this period")
    section.tables.append(table)
    with guarded(section, "alerts"):
        fired = source.by(cols[1].query, period.end, "alertname")
        firing = source.by(cols[2].query, period.end, "alertname")
        by_rule: dict[str, list[dict]] = {}
        for inc in incidents(source, period):
            if inc["started_ms"] >= period.start * 1000:
                by_rule.setdefault(inc["rule"], []).append(inc)
        rules = set(fired) | set(firing) | set(by_rule)
        rules.discard("")
        ranked = sorted(rules, key=lambda r: (-fired.get(r, 0.0), -firing.get(r, 0.0),
                                              -len(by_rule.get(r, [])), r))
        history = source.history is not None
        for rule in ranked[:TOP_RULES]:
            found = by_rule.get(rule, [])
            table.rows.append([
                rule, fired.get(rule, 0.0), firing.get(rule, 0.0),
                float(len(found)) if history else None,
                float(sum(1 for i in found if i["acked_ms"] is not None)) if history else None,
                median_seconds([(i["started_ms"], i["acked_ms"]) for i in found]),
                median_seconds([(i["started_ms"], i["resolved_ms"]) for i in found])])
        if len(ranked) > TOP_RULES:
            table.note = f"{len(ranked) - TOP_RULES} more rules fired less."
        total = sum(fired.values())
        if math.isfinite(total) and total:
            expr = FIRING_CHART.format(w=period.window)
            chart = Chart("Most alerts firing at once", "short", expr)
            _, times, values = source.range(expr, period.start, period.end, period.step)
            for row in values:
                chart.lines.append(Line("firing", times.tolist(), row.tolist()))
            section.charts.append(chart)
    return section
