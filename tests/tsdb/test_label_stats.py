"""Cardinality figures of /api/v1/status/tsdb, computed as Prometheus computes them."""

from __future__ import annotations

from watchkeeper.tsdb import Store
from watchkeeper.tsdb.label_stats import label_stats

REPORT_NAMES = ("scrape_samples_post_metric_relabeling", "scrape_series_added", "up",
                "scrape_duration_seconds", "scrape_samples_scraped")


def _report_series() -> list[dict[str, str]]:
    """What a real Prometheus 2.42 holds after scraping one target of job web."""
    return [{"__name__": name, "job": "web", "instance": "127.0.0.1:1", "team": "t"}
            for name in REPORT_NAMES]


def test_figures_equal_a_real_prometheus_on_the_same_series() -> None:
    # expected values are those Prometheus 2.42 answered for exactly these five series
    stats = label_stats((sorted(s.items()) for s in _report_series()), limit=10)
    assert stats.num_label_pairs == 8
    assert dict(stats.label_value_count_by_label_name) == {
        "__name__": 5, "job": 1, "instance": 1, "team": 1}
    assert dict(stats.memory_in_bytes_by_label_name) == {
        "__name__": 103, "instance": 11, "job": 3, "team": 1}
    assert dict(stats.series_count_by_label_value_pair) == {
        "job=web": 5, "instance=127.0.0.1:1": 5, "team=t": 5,
        **{f"__name__={name}": 1 for name in REPORT_NAMES}}
    assert dict(stats.series_count_by_metric_name) == dict.fromkeys(REPORT_NAMES, 1)


def test_rankings_are_the_top_limit_largest_first() -> None:
    series = ([{"__name__": "http_requests_total", "path": f"/p{i}", "code": "200"}
               for i in range(6)]
              + [{"__name__": "http_requests_total", "path": "/p0", "code": "500"},
                 {"__name__": "up", "job": "api"}])
    stats = label_stats((s.items() for s in series), limit=2)
    assert stats.series_count_by_metric_name == [("http_requests_total", 7), ("up", 1)]
    assert stats.label_value_count_by_label_name == [("path", 6), ("__name__", 2)]
    # bytes of distinct values: six "/pN" (3 bytes each) beat two metric names (19 + 2)
    assert stats.memory_in_bytes_by_label_name == [("__name__", 21), ("path", 18)]
    assert stats.series_count_by_label_value_pair == [("__name__=http_requests_total", 7),
                                                      ("code=200", 6)]
    assert stats.num_label_pairs == 2 + 6 + 2 + 1
    api = stats.to_api()
    assert api["seriesCountByLabelValuePair"][0] == {"name": "__name__=http_requests_total",
                                                     "value": 7}


def test_bytes_count_utf8_and_equal_counts_rank_by_name() -> None:
    stats = label_stats([[("__name__", "m"), ("city", "Zürich")],
                         [("__name__", "m"), ("city", "Köln")]], limit=10)
    assert dict(stats.memory_in_bytes_by_label_name)["city"] == 7 + 5
    assert stats.series_count_by_label_value_pair[1:] == [("city=Köln", 1), ("city=Zürich", 1)]


def test_computed_from_a_stores_series(tmp_path) -> None:
    with Store.open(tmp_path / "data", background=False) as store:
        for i, s in enumerate(_report_series()):
            store.append(s, 1_700_000_000_000 + i, 1.0)
        store.append({"__name__": "up", "job": "other"}, 1_700_000_000_000, 1.0)
        store.commit()
        stats = label_stats(store.series(()), limit=3)
    assert stats.num_label_pairs == 9
    assert stats.series_count_by_metric_name[0] == ("up", 2)
    assert stats.series_count_by_label_value_pair == [
        ("instance=127.0.0.1:1", 5), ("job=web", 5), ("team=t", 5)]
    assert stats.label_value_count_by_label_name[:2] == [("__name__", 5), ("job", 2)]
