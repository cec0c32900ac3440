"""The golden signals of the instrumented HTTP services, this period against the one
before: p95 latency, error ratio and throughput, per job, from the request-duration
histogram the HTTP middlewares record (OpenTelemetry's name)."""

from __future__ import annotations

from .common import guarded
from .model import Chart, Column, Line, Section, Table
from .period import Period
from .source import Source

H = "http_server_request_duration_seconds"
ERRORS = f'{H}_count{{{{http_response_status_code=~"5.."}}}}'
P95 = f"histogram_quantile(0.95, sum by ({{by}}le) (rate({H}_bucket[{{p}}]{{off}})))"
RATE = f"sum by ({{by}}) (rate({H}_count[{{p}}]{{off}}))"
ERROR_RATIO = (f"(sum by ({{by}}) (rate({ERRORS}[{{p}}]{{off}})) or {RATE} * 0) / {RATE}")
SIGNALS = (("p95 latency", "seconds", P95), ("error ratio", "percentunit", ERROR_RATIO),
           ("throughput", "reqps", RATE))
TOP_JOBS = 20


def _expr(template: str, by: str, p: str, off: str) -> str:
    by = f"{by}, " if template is P95 and by else by
    return template.format(by=by, p=p, off=off)


def change(now: float | None, before: float | None) -> float | None:
    """Percent change from ``before`` to ``now``; None when either is missing or before is
    zero."""
    if now is None or before is None or before == 0:
        return None
    return 100.0 * (now / before - 1.0)


def signals_section(source: Source, period: Period) -> Section:
    section = Section("signals", "Golden signals, week over week" if period.text == "7d"
                      else f"Golden signals, this {period.text} against the one before",
                      "Per job, over the whole period and over the same span just before it "
                      f"(offset {period.text}). Dashed lines in the charts are the period "
                      "before, shifted onto this one.")
    p, off = period.text, f" offset {period.text}"
    cols = [Column("job")]
    for name, unit, template in SIGNALS:
        cols += [Column(name, unit, _expr(template, "job", p, "")),
                 Column("before", unit, _expr(template, "job", p, off)),
                 Column("change", "points", "(this - before) x 100", "arithmetic")
                 if unit == "percentunit" else
                 Column("change", "change", "(this / before - 1) x 100", "arithmetic")]
    table = Table("HTTP services", cols,
                  empty=f"no {H} series in this period (instrument a service with "
                        "watchkeeper's HTTP middleware and scrape it)")
    section.tables.append(table)
    with guarded(section, "golden signals"):
        # each chart line just before its table figure: the figure's read is inside the
        # line's, so it is a slice of it (see readonce)
        queries = [c.query for c in cols[1:] if c.source == "PromQL"]
        charts, figures = [], []
        for i, (name, unit, template) in enumerate(SIGNALS):
            chart, found = _chart(source, period, name, unit, template, queries[2 * i:2 * i + 2])
            charts.append(chart)
            figures += found
        jobs = sorted(set(figures[4]) | set(figures[5]), key=lambda j: -figures[4].get(j, 0.0))
        for job in jobs[:TOP_JOBS]:
            row: list = [job or "(no job)"]
            for i in range(0, 6, 2):
                now, before = figures[i].get(job), figures[i + 1].get(job)
                moved = change(now, before) if i != 2 else (
                    None if now is None or before is None else 100.0 * (now - before))
                row += [now, before, moved]
            table.rows.append(row)
        if len(jobs) > TOP_JOBS:
            table.note = f"{len(jobs) - TOP_JOBS} smaller jobs left out."
        if jobs:
            section.charts += charts
    return section


def _chart(source: Source, period: Period, name: str, unit: str, template: str,
           figures: list[str]) -> tuple[Chart, list[dict[str, float]]]:
    """All jobs together, this period solid and the one before dashed, on one time axis;
    and the table's ``figures`` (this period's, the one before's) by job."""
    now = _expr(template, "", period.window, "")
    chart = Chart(f"{name[0].upper()}{name[1:]}, all jobs", unit, now)
    found = []
    for expr, dashed, figure in ((now, False, figures[0]),
                                 (_expr(template, "", period.window, f" offset {period.text}"),
                                  True, figures[1])):
        _, times, values = source.range(expr, period.start, period.end, period.step)
        found.append(source.by(figure, period.end, "job"))
        for row in values:
            chart.lines.append(Line("the period before" if dashed else "this period",
                                    times.tolist(), row.tolist(), dashed=dashed,
                                    color="#9ca3af" if dashed else ""))
    return chart, found
