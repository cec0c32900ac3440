"""A week's report over a planted store: each figure follows from what was planted."""

from __future__ import annotations

import pytest
from planted import DAY, ERRORS, FIRING, FS_SIZE, OUTAGE, RPS, SLOW

from watchkeeper.reports import build_report, open_local
from watchkeeper.reports.model import Num, Report


@pytest.fixture(scope="module")
def report(planted) -> Report:
    data, end = planted
    source, close = open_local(data)
    try:
        return build_report(source, "7d", end)
    finally:
        close()


def rows(report: Report, section: str, table: int = 0) -> dict[str, list]:
    t = report.section(section).tables[table]
    return {r[0]: r for r in t.rows}


def test_every_section_is_there_and_none_failed(report):
    assert [s.id for s in report.sections] == [
        "availability", "alerts", "signals", "changes", "capacity", "store", "errors"]
    assert all(not s.problems for s in report.sections), [s.problems for s in report.sections]


def test_availability_counts_the_outage_and_its_acknowledgement(report):
    db = rows(report, "availability")["db"]
    down = OUTAGE[1] - OUTAGE[0]
    assert db[1] == pytest.approx(100 * (1 - down / (7 * DAY)), abs=0.1)  # uptime %
    assert db[2] == 1  # one outage
    assert db[3] == pytest.approx(down, abs=600)  # time down
    assert db[4] == 1 and db[5] == 600  # one alert, acknowledged after 10 minutes
    assert db[6] == pytest.approx(down)
    assert rows(report, "availability")["disk"][1:4] == [100.0, 0.0, 0.0]
    chart = report.section("availability").charts[0]
    assert [ln.name for ln in chart.lines] == ["db"] and min(chart.lines[0].values) < 100


def test_alerts_rank_rules_by_times_fired(report):
    table = rows(report, "alerts")
    high = table["HighLatency"]
    assert high[1] == len(FIRING)
    assert high[2] == pytest.approx(sum(b - a for a, b in FIRING), abs=10 * 60)
    assert high[3] == 2 and high[4] == 0
    assert next(iter(table)) == "HighLatency"  # it fired; the health alert left no ALERTS


def test_golden_signals_compare_with_the_week_before(report):
    table = rows(report, "signals")
    api = table["api"]
    p95, before, change = api[1:4]
    assert p95 / before == pytest.approx(SLOW, rel=0.05) and change == pytest.approx(100, abs=5)
    assert api[4] == pytest.approx(ERRORS["api"], rel=0.05)
    assert api[7] == pytest.approx(RPS["api"], rel=0.01)
    assert table["web"][7] == pytest.approx(RPS["web"], rel=0.01)
    charts = report.section("signals").charts
    assert [c.unit for c in charts] == ["seconds", "percentunit", "reqps"]
    assert all(any(ln.dashed for ln in c.lines) and any(not ln.dashed for ln in c.lines)
               for c in charts)


def test_the_level_shift_leads_what_changed_and_is_scored_anomalous(report):
    changes, anomalies = report.section("changes").tables
    top = changes.rows[0]
    assert top[0] == "Host: Memory used"  # the dashboard panel's line
    assert top[1].value == pytest.approx(25, abs=1) and top[2].value == pytest.approx(75, abs=1)
    assert top[1].query.startswith("100 * (1 - node_memory_MemAvailable_bytes")
    assert all(r[5] >= 1 for r in changes.rows)  # flat lines are not listed
    assert anomalies.rows and anomalies.rows[0][0] == "Host: Memory used"
    assert anomalies.rows[0][1] >= 0.5


def test_capacity_and_store_figures(report):
    rows = report.section("capacity").tables[0].rows
    (fs,) = [r for r in rows if r[0] == "disk"]
    assert fs[1] == "/data"
    assert [r[1] for r in rows if r[0] == "memory"] == ["this host"]
    assert fs[3].unit == "bytes" and fs[3].value == pytest.approx(2e9, rel=0.05)  # per day
    used_now = 20e9 + 2e9 * 14
    assert fs[4] == pytest.approx((FS_SIZE - used_now) / 2e9 * DAY, rel=0.15)
    store = {r[0]: r[1] for r in report.section("store").tables[0].rows}
    assert isinstance(store["series in the store (most)"], Num)
    assert store["series in the store (most)"].value == 40
    assert store["samples stored per second"].value == pytest.approx(10, rel=0.01)
    targets = report.section("store").tables[1].rows
    assert [(r[0], r[2]) for r in targets] == [("api", 100.0), ("web", 100.0)]


def test_every_number_names_its_query(report):
    for s in report.sections:
        for t in s.tables:
            for i, c in enumerate(t.columns):
                if any(isinstance(r[i], float) for r in t.rows):
                    assert c.query, (s.id, t.title, c.title)
            for r in t.rows:
                assert all(v.query for v in r if isinstance(v, Num))
        for chart in s.charts:
            assert chart.query


def test_a_bad_period_is_refused_by_name():
    from watchkeeper.reports.period import parse_period

    for bad, why in (("7x", "not a valid duration"), ("10m", "shorter than 1h"),
                     ("1y", "longer than 90d")):
        with pytest.raises(ValueError, match=why):
            parse_period(bad)


def test_anomalies_come_from_the_scores_the_server_recorded(tmp_path):
    """Where ``serve`` records ``watchkeeper:anomaly_score``, the report lists its peaks."""
    import numpy as np

    from watchkeeper.tsdb.store import Store

    end = 1_796_371_200.0
    t = np.arange(end - 7 * 86400, end + 1, 300.0)
    peak = end - 2 * 86400
    with Store.open(tmp_path / "d", background=False) as store:
        for route, top in (("/a", 0.9), ("/b", 0.3)):
            v = np.full(len(t), 0.1)
            v[np.argmin(abs(t - peak))] = top
            store.append_array({"__name__": "watchkeeper:anomaly_score", "route": route,
                                "expr": "sum by (route) (rate(x[5m]))", "metric": "x"},
                               (t * 1000).astype(np.int64), v)
    source, close = open_local(tmp_path / "d")
    try:
        report = build_report(source, "7d", end)
    finally:
        close()
    table = report.section("changes").tables[1]
    assert table.columns[1].query.startswith("topk(10, max_over_time(watchkeeper:anomaly_score")
    first, second = table.rows
    assert first[0] == 'sum by (route) (rate(x[5m])): x{route="/a"}' and first[1] == 0.9
    assert first[2] == "2026-12-02 08:00" and second[1] == 0.3
