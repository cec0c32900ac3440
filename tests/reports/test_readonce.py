"""A report decodes each selector's span once; a repeat is the same answer from memory."""

from __future__ import annotations

import numpy as np

from watchkeeper.reports.readonce import ReadOnce
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.store import Store


def test_a_repeat_read_is_the_same_answer_and_the_budget_holds(planted):
    data, end = planted
    with Store.open(data, background=False) as store:
        reads = ReadOnce(store, budget=5000)
        buckets = [Matcher.eq("__name__", "http_server_request_duration_seconds_bucket")]
        span = (int((end - 86400) * 1000), int(end * 1000))
        first = list(reads.select(buckets, *span))
        again = list(reads.select(buckets, *span))
        direct = list(store.select(buckets, *span))
        assert reads.hits == 1 and len(first) == len(direct) == 12
        for a, b in zip(again, direct, strict=True):
            assert a.labels == b.labels and np.array_equal(a.values, b.values)
        assert reads.kept <= 5000  # 12 series x 289 samples fit; more would push them out
        health = [Matcher.eq("__name__", "watchkeeper_health_status")]
        list(reads.select(health, int((end - 5 * 86400) * 1000), int(end * 1000)))
        assert reads.kept <= 5000  # 2 x 1441 samples: kept, the buckets dropped for them
        list(reads.select(health, int((end - 14 * 86400) * 1000), int(end * 1000)))
        assert reads.kept <= 5000  # larger than the whole budget: read, never kept
        list(reads.select(buckets, *span))
        assert reads.hits == 1  # the buckets were pushed out
        assert reads.label_values("check") == store.label_values("check")  # passes through


def test_a_read_inside_a_kept_one_is_sliced_as_the_store_answers(planted):
    data, end = planted
    with Store.open(data, background=False) as store:
        reads = ReadOnce(store)
        alerts = [Matcher.eq("__name__", "ALERTS")]
        wide = (int((end - 14 * 86400) * 1000), int(end * 1000))
        list(reads.select(alerts, *wide))
        # inside, around and between the planted firing episodes (some spans hold none)
        for days in ((7, 0), (7, 4), (6, 5), (3, 1), (1, 0), (10, 8)):
            span = (int((end - days[0] * 86400) * 1000), int((end - days[1] * 86400) * 1000))
            got, want = list(reads.select(alerts, *span)), list(store.select(alerts, *span))
            assert [s.labels for s in got] == [s.labels for s in want], days
            for a, b in zip(got, want, strict=True):
                assert np.array_equal(a.timestamps, b.timestamps)
                assert np.array_equal(a.values, b.values)
        assert reads.hits == 6
