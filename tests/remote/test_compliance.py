"""The Prometheus remote-write sender compliance checks (remote write 1.0), in pytest.

Ported from prometheus/compliance: the 1.0 sender cases (counter, gauge, histogram, summary,
up, invalid, job and instance labels, sorted, repeated and empty labels, the name label,
honor labels, staleness, timestamps, headers, ordering, retries on 5xx and none on 4xx) and
the checks of the 2.0 sender checklist that apply to 1.0 (snappy block format, user agent,
special values and labels, 401/404/413/502/503/429 with Retry-After, backoff, timeouts,
connection refused, a junk success body, batching, metadata, no 2.0-only fields). Each
check runs against watchkeeper in agent mode and, as the control, against Prometheus 2.42
in agent mode: both must pass the same checks.
"""

import itertools
import math
import re
from collections import Counter, defaultdict

import pytest
from compliance_run import CASES, HUGE, LONG_NAME, MAX_PER_SEND, SPECIAL, UNICODE, run_all
from rwcapture import Sample

SENDERS = ["watchkeeper-agent", "prometheus"]
REPORT = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
          "scrape_samples_post_metric_relabeling", "scrape_series_added"}
FRAMED_SNAPPY = b"\xff\x06\x00\x00sNaPpY"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return run_all(SENDERS, tmp_path_factory.mktemp("compliance"))


@pytest.fixture(params=SENDERS)
def run(request, runs):
    return runs[request.param]


def main(run, stale: bool = False) -> list[Sample]:
    """What the well-behaved endpoint received, without the staleness markers a sender
    writes for every series when it shuts down; and without any staleness marker unless
    ``stale``: a scrape that fails (it times out on a loaded machine) marks every series of
    its target stale, in both senders."""
    return [s for s in run.ep["main"].accepted_samples()
            if not (s.stale and (s.ts >= run.stopped - 1500 or not stale))]


def of(samples: list[Sample], name: str | None = None, **labels: str) -> list[Sample]:
    """Samples whose labels include ``labels`` (and the name), in arrival order."""
    out = []
    for s in samples:
        m = s.map
        if name is not None and m.get("__name__") != name:
            continue
        if all(m.get(k) == v for k, v in labels.items()):
            out.append(s)
    return out


def values(samples: list[Sample]) -> list[float]:
    return [s.value for s in sorted(samples, key=lambda s: s.ts)]


def every_request(run):
    for ep in run.ep.values():
        yield from ep.requests


# ---------------------------------------------------------------------------- metric types
def test_counter_values_count_up_by_one(run):
    got = values(of(main(run), "counter_total", job="counter"))
    assert len(got) >= 3
    # every scrape adds one (a scrape that timed out on this busy machine leaves a gap)
    assert all(v == int(v) for v in got) and got == sorted(set(got))
    assert got[0] <= 1.0


def test_gauge_value_matches_its_scrape_time(run):
    got = of(main(run), "now", job="now")
    assert got
    for s in got:
        assert abs(s.value - s.ts) < 2000, (s.ts, s.value)


def test_histogram_series_arrive_together(run):
    got = main(run)
    expect = {("histogram_bucket", "1"): 1.0, ("histogram_bucket", "2"): 2.0,
              ("histogram_bucket", "+Inf"): 2.0, ("histogram_sum", None): 3.0,
              ("histogram_count", None): 2.0}
    counts = set()
    for (name, le), value in expect.items():
        series = [s for s in of(got, name, job="histogram") if s.map.get("le") == le]
        assert series and all(s.value == value for s in series), (name, le)
        counts.add(len(series))
    assert len(counts) == 1


def test_summary_series_arrive_together(run):
    got = main(run)
    expect = {("summary", "0.5"): 2.0, ("summary", "0.9"): 3.0, ("summary", "0.99"): 3.0,
              ("summary_sum", None): 6.0, ("summary_count", None): 3.0}
    counts = set()
    for (name, q), value in expect.items():
        series = [s for s in of(got, name, job="summary") if s.map.get("quantile") == q]
        assert series and all(s.value == value for s in series), (name, q)
        counts.add(len(series))
    assert len(counts) == 1


# ------------------------------------------------------------------------------ up, labels
def test_up_is_one_for_a_good_target(run):
    ups = of(main(run), "up", job="gauge")
    assert ups and all(s.value in (0.0, 1.0) for s in ups)
    assert sum(s.value for s in ups) >= len(ups) / 2  # (a scrape may time out under load)


def test_invalid_exposition_gives_up_zero_and_no_samples(run):
    got = of(main(run), job="invalid")
    ups = of(got, "up")
    assert ups and all(s.value == 0.0 for s in ups)
    assert {s.map["__name__"] for s in got} <= REPORT


def test_job_label(run):
    got = of(main(run), "gauge", job="gauge")
    assert got and all(s.value == 42.0 for s in got)


def test_instance_label_is_the_target_address(run):
    scraped = [s for s in main(run) if s.map.get("job") in CASES]
    assert scraped
    for s in scraped:
        assert re.fullmatch(r"127\.0\.0\.1:\d+", s.map.get("instance", "")), s.labels


def test_labels_are_sorted_in_every_series(run):
    for req in every_request(run):
        for series in req.series:
            names = [k for k, _ in series[0].labels] if series else []
            assert names == sorted(names), names
    assert of(main(run), "test", job="sorted_labels", a="1", b="2")


def test_repeated_labels_fail_the_scrape(run):
    for req in every_request(run):
        for series in req.series:
            if series:
                names = [k for k, _ in series[0].labels]
                assert len(names) == len(set(names)), names
    got = of(main(run), job="repeated_labels")
    assert not of(got, "test")
    ups = of(got, "up")
    assert ups and all(s.value == 0.0 for s in ups)


def test_empty_label_values_are_dropped(run):
    for req in every_request(run):
        for series in req.series:
            for k, v in series[0].labels if series else ():
                assert v != "", (k, series[0].labels)
    got = of(main(run), "test", job="empty_labels")
    assert got and all("a" not in s.map for s in got)


def test_every_series_has_a_valid_name(run):
    for req in every_request(run):
        for series in req.series:
            labels = series[0].map
            assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", labels.get("__name__", "")), labels
            for k in labels:
                assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", k), k
    assert not of(main(run), label="value")
    ups = of(main(run), "up", job="name_label")
    assert ups and all(s.value == 0.0 for s in ups)


def test_target_labels_win_and_clashing_ones_are_exported(run):
    got = of(main(run), "test", job="honor_labels", exported_job="original",
             exported_instance="foo")
    assert got and all(s.value == 1.0 for s in got)


def test_special_characters_unicode_and_huge_label_values_arrive_exactly(run):
    got = of(main(run), "odd_label", job="odd_labels")
    by_value = {s.map["v"]: s.value for s in got}
    assert by_value.get(UNICODE) == 1.0
    assert by_value.get(SPECIAL) == 2.0
    assert by_value.get(HUGE) == 3.0
    assert of(main(run), LONG_NAME, job="odd_labels")
    assert of(main(run), "rule:with:colons", job="odd_labels")


# ------------------------------------------------------------------------- values, staleness
def test_special_float_values_arrive_exactly(run):
    got = {s.map["v"]: s for s in of(main(run), "odd", job="odd_values")}
    assert math.isnan(got["nan"].value) and not got["nan"].stale
    assert got["inf"].value == math.inf and got["-inf"].value == -math.inf
    assert got["zero"].value == 0.0 and got["negative"].value == -1.5
    assert got["tiny"].value == 1.2345678901234567e-300
    assert got["precise"].value == 0.30000000000000004
    assert got["huge"].value == 1.7976931348623157e+308


def test_a_vanished_series_gets_a_staleness_marker(run):
    got = main(run, stale=True)
    stale = of(got, "stale", job="staleness")
    assert any(s.stale for s in stale)
    # a series still exposed is marked stale only by a failed scrape (a loaded machine)
    failed = [s.ts for s in of(got, "up", job="staleness") if s.value == 0.0]
    for s in of(got, "still", job="staleness"):
        assert not s.stale or any(abs(s.ts - t) <= 1500 for t in failed), s


def test_empty_scrape_gives_up_one_and_no_samples(run):
    got = of(main(run), job="empty")
    ups = of(got, "up")
    assert ups and all(s.value in (0.0, 1.0) for s in ups)
    assert sum(s.value for s in ups) >= len(ups) / 2  # (a scrape may time out under load)
    assert {s.map["__name__"] for s in got} <= REPORT


# ------------------------------------------------------------------------------ timestamps
def test_timestamps_are_milliseconds_within_the_run_and_ordered_per_series(run):
    for name, ep in run.ep.items():
        last: dict[tuple, int] = {}
        for s in ep.accepted_samples():
            assert run.started - 1000 <= s.ts <= run.stopped + 1000, (name, s.ts)
            assert s.ts > last.get(s.labels, -1), (name, s.labels)
            last[s.labels] = s.ts
    stamps = {s.ts for s in main(run)}
    assert any(t % 1000 for t in stamps)  # not rounded to seconds


def test_a_thousand_series_arrive_in_order_despite_slow_answers(run):
    got = of(main(run), "test", job="ordering")
    assert len({s.map["i"] for s in got}) == 1000
    assert all(s.value == 1.0 for s in got)


# ------------------------------------------------------------------------------- protocol
def test_every_request_is_a_snappy_block_protobuf_post_with_the_1_0_headers(run):
    reqs = list(every_request(run))
    assert reqs
    for r in reqs:
        assert r.method == "POST"
        assert r.headers.get("content-encoding") == "snappy"
        assert r.headers.get("content-type") == "application/x-protobuf"
        assert r.headers.get("x-prometheus-remote-write-version") == "0.1.0"
        assert re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/\S+( .*)?",
                            r.headers.get("user-agent", "")), r.headers.get("user-agent")
        assert not r.body.startswith(FRAMED_SNAPPY)
        assert not r.error, r.error


def test_only_remote_write_1_0_fields_are_sent(run):
    for r in every_request(run):
        assert r.unknown == 0  # no native histograms, exemplars or symbol table
        for series in r.series:
            assert series, "a time series without samples"


def test_batches_hold_many_series_and_never_exceed_max_samples_per_send(run):
    reqs = [r for r in run.ep["main"].requests if r.samples]
    assert all(len(r.samples) <= MAX_PER_SEND for r in reqs)
    assert any(len(r.series) > 1 for r in reqs)
    sparse = [r for r in run.ep["sparse"].requests if r.samples]  # one sample a second
    assert sparse and all(len(r.samples) < MAX_PER_SEND for r in sparse)  # sent by deadline
    kept = {s.map["__name__"] for r in sparse for s in r.samples}
    assert kept == {"gauge"}  # write_relabel_configs applied


def test_metadata_is_sent_on_its_own_with_types_and_help(run):
    meta = [r for r in run.ep["main"].requests if r.metadata]
    assert meta
    assert all(not r.series for r in meta)
    got = {name: (typ, help_) for r in meta for name, typ, help_, _unit in r.metadata}
    assert got.get("counter_total") == ("counter", "Scrapes so far.")
    assert got.get("now") == ("gauge", "Unix time in ms.")
    assert got.get("histogram") == ("histogram", "Observed 1 and 2.")
    assert got.get("summary") == ("summary", "Observed 1, 2 and 3.")
    assert not any(r.metadata for r in run.ep["late"].requests)  # send: false


# ---------------------------------------------------------------------------------- retries
def _first_refused(run, name: str):
    reqs = run.ep[name].requests
    refused = next(r for r in reqs if r.samples and not 200 <= r.status < 300)
    keys = {(s.labels, s.ts) for s in refused.samples}
    later = {(s.labels, s.ts) for s in run.ep[name].accepted_samples()}
    return refused, keys, later


@pytest.mark.parametrize("code", [500, 502, 503])
def test_5xx_is_retried(run, code):
    _refused, keys, later = _first_refused(run, f"r{code}")
    assert keys <= later


@pytest.mark.parametrize("code", [400, 401, 404, 413])
def test_4xx_is_not_retried(run, code):
    _refused, keys, later = _first_refused(run, f"r{code}")
    assert not keys & later


def test_429_is_retried_after_retry_after(run):
    refused, keys, later = _first_refused(run, "r429")
    assert keys <= later
    nxt = next(r for r in run.ep["r429"].requests if r.samples and r.at > refused.at)
    assert nxt.at - refused.at >= 1.5  # Retry-After: 2


def test_backoff_grows_and_stays_bounded(run):
    reqs = [r for r in run.ep["always500"].requests if r.samples]
    digest, attempts = Counter(r.digest for r in reqs).most_common(1)[0]
    assert attempts >= 4
    times = [r.at for r in reqs if r.digest == digest]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # exponential, not a fixed interval (against the shortest gap: a loaded machine can
    # delay any one retry, the first one included)
    assert gaps[-1] >= 1.5 * min(gaps), gaps
    assert max(gaps) <= 2.0 + 1.5  # max_backoff (plus scheduling slack)


def test_a_timed_out_request_is_resent(run):
    reqs = run.ep["slow"].requests
    first = next(r for r in reqs if r.samples)
    assert first.status == -1  # answered after remote_timeout: the sender had hung up
    later = {(s.labels, s.ts) for s in run.ep["slow"].accepted_samples()}
    assert {(s.labels, s.ts) for s in first.samples} <= later


def test_samples_from_before_the_sink_listened_arrive(run):
    got = run.ep["late"].accepted_samples()
    assert got and min(s.ts for s in got) < run.late_opened - 1000


def test_a_junk_success_body_is_ignored(run):
    got = run.ep["junk200"].accepted_samples()
    assert got
    seen = Counter((s.labels, s.ts) for s in got)
    assert max(seen.values()) == 1  # nothing resent after a 200


def test_each_endpoint_gets_everything_scraped(run):
    per = defaultdict(set)
    for name in ("main", "junk200", "r503"):
        per[name] = {(s.labels, s.ts) for s in run.ep[name].accepted_samples()
                     if s.map.get("job") == "gauge"}
    assert per["main"] and per["main"] & per["junk200"] & per["r503"]
