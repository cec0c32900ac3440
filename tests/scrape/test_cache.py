"""The scrape cache gives exactly what the full parse gives, or steps aside.

Each check scrapes a first body (which fills the cache) and then a second one twice: through
the cache and through the full path without it. Both must agree on every sample, count and
metadata entry, or fail with the same error.
"""

from __future__ import annotations

import asyncio
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.config import parse_config
from watchkeeper.scrape import FileSD, discover
from watchkeeper.scrape.cache import ScrapeCache
from watchkeeper.scrape.manager import STALE_NAN, TargetState, _with_staleness_and_report
from watchkeeper.scrape.scraper import LimitExceeded, ScrapeResult, _samples

TEXT = "text/plain; version=0.0.4"


def _target(extra: str = ""):
    config = parse_config(f"""
scrape_configs:
  - job_name: app
    static_configs: [{{targets: ["h:1"], labels: {{team: t}}}}]
{extra}
""").config
    return discover(config, FileSD()).active[0]


def _bits(v: float) -> bytes:
    return struct.pack("<d", v)


def _outcome(body: str, target, cache: ScrapeCache | None, ct: str = TEXT):
    try:
        r = _samples(body.encode(), ct, target, 1_000, cache)
    except Exception as e:  # the same failure either way
        return type(e).__name__, str(e)
    return ([(labels, ts, _bits(v)) for labels, ts, v in r.samples], r.scraped,
            r.post_relabel, r.metadata)


def _both(first: str, second: str, target, ct: str = TEXT) -> tuple[object, object, bool]:
    cache = ScrapeCache()
    _outcome(first, target, cache, ct)
    filled = cache.last is not None
    return _outcome(second, target, cache, ct), _outcome(second, target, None, ct), filled


BODY = """# HELP reqs_total Requests.
# TYPE reqs_total counter
reqs_total{{code="200",path="/a b"}} {a}
reqs_total{{code="500",path="/a b"}} {b}

# TYPE temp gauge
temp {c}
lat_bucket{{le="0.1"}} {a}
"""


def test_values_only_change_is_replayed_exactly() -> None:
    target = _target()
    cache = ScrapeCache()
    full1 = _samples(BODY.format(a=1, b=2, c=3).encode(), TEXT, target, 1_000, cache)
    assert not full1.cached and cache.last is not None
    second = BODY.format(a="7.5", b="NaN", c="-Inf")
    cached = _samples(second.encode(), TEXT, target, 2_000, cache)
    full = _samples(second.encode(), TEXT, target, 2_000, None)
    assert cached.cached and not full.cached
    assert [(lb, ts, _bits(v)) for lb, ts, v in cached.samples] == \
        [(lb, ts, _bits(v)) for lb, ts, v in full.samples]
    assert (cached.scraped, cached.post_relabel, cached.metadata) == \
        (full.scraped, full.post_relabel, full.metadata)
    assert cached.samples[0][0] == {"__name__": "reqs_total", "code": "200", "path": "/a b",
                                    "job": "app", "instance": "h:1", "team": "t"}


@pytest.mark.parametrize("second", [
    BODY.format(a=1, b=2, c=3) + "extra 1\n",  # a series more
    BODY.format(a=1, b=2, c=3).replace('reqs_total{code="500",path="/a b"} 2\n', ""),
    BODY.format(a=1, b=2, c=3).replace("# HELP reqs_total Requests.", "# HELP reqs_total R"),
    BODY.format(a=1, b=2, c=3).replace("temp 3", "temp 3 1700000000000"),  # a timestamp
    BODY.format(a=1, b=2, c=3).replace("temp 3", "temp  3"),
    BODY.format(a=1, b=2, c=3).replace("temp 3", "temp +NaN"),  # Go refuses a signed NaN
    BODY.format(a=1, b=2, c=3).replace("temp 3", "temp 1_0"),
    BODY.format(a=1, b=2, c=3).replace("temp 3", "temp 0x10"),
    BODY.format(a=1, b=2, c=3).replace("temp 3", "temp 1e999"),  # out of range
    BODY.format(a=1, b=2, c=3).replace("temp 3", "temp \u0663"),  # a non-ASCII digit
    BODY.format(a=1, b=2, c=3).replace("temp 3", "temp 3\t"),
    BODY.format(a=1, b=2, c=3).replace("temp 3", "temp "),
    BODY.format(a=1, b=2, c=3).replace("temp 3", "# temp 3"),
    BODY.format(a=1, b=2, c=3).replace("temp 3", ""),
    BODY.format(a=1, b=2, c=3).replace("\n", "\r\n"),
])
def test_anything_but_new_values_takes_the_full_path(second: str) -> None:
    target = _target()
    via_cache, full, filled = _both(BODY.format(a=1, b=2, c=3), second, target)
    assert filled
    assert via_cache == full


def test_openmetrics_and_timestamps_are_not_cached() -> None:
    target = _target()
    cache = ScrapeCache()
    om = "# TYPE a gauge\na 1\n# EOF\n"
    _samples(om.encode(), "application/openmetrics-text; version=1.0.0", target, 1, cache)
    assert cache.last is None
    _samples(b"a 1 1700000000000\n", TEXT, target, 1, cache)
    assert cache.last is None


def test_relabelling_drops_and_renames_the_same_way() -> None:
    target = _target("""    metric_relabel_configs:
      - source_labels: [code]
        regex: "500"
        action: drop
      - source_labels: [path]
        target_label: route
""")
    via_cache, full, filled = _both(BODY.format(a=1, b=2, c=3), BODY.format(a=4, b=5, c=6),
                                    target)
    assert filled and via_cache == full
    assert len(via_cache[0]) == 3 and via_cache[0][0][0]["route"] == "/a b"


def test_another_target_object_or_content_type_is_a_miss() -> None:
    cache = ScrapeCache()
    target = _target()
    _samples(b"a 1\n", TEXT, target, 1, cache)
    assert not _samples(b"a 2\n", TEXT, _target(), 2, cache).cached  # a reload's target
    _samples(b"a 1\n", TEXT, target, 1, cache)
    assert not _samples(b"a 2\n", "text/plain", target, 2, cache).cached


def test_sample_limit_still_applies() -> None:
    target = _target("    sample_limit: 2\n")
    cache = ScrapeCache()
    _samples(b"a 1\nb 1\n", TEXT, target, 1, cache)
    assert _samples(b"a 2\nb 2\n", TEXT, target, 2, cache).cached
    with pytest.raises(LimitExceeded):
        _samples(b"a 2\nb 2\nc 1\n", TEXT, target, 3, cache)


def test_a_failed_scrape_keeps_the_cache() -> None:
    from watchkeeper.scrape.scraper import scrape

    class Failing:
        def stream(self, *a, **k):
            raise OSError("refused")

    target = _target()
    cache = ScrapeCache()
    _samples(b"a 1\n", TEXT, target, 1, cache)
    assert cache.last is not None
    result = asyncio.run(scrape(Failing(), target, None, cache))  # type: ignore[arg-type]
    assert result.error and cache.last is not None


def test_staleness_after_cached_scrapes() -> None:
    """Cached scrapes add nothing and end nothing; a series gone after them goes stale."""
    target = _target()
    state = TargetState(target)
    samples = []
    for n, body in enumerate([b"a 1\nb 1\n", b"a 2\nb 2\n", b"a 3\nb 3\n", b"a 4\n"]):
        result = _samples(body, TEXT, target, 1000 * n, state.cache)
        result.started = n
        samples.append((result.cached, _with_staleness_and_report(state, result)))
    assert [c for c, _ in samples] == [False, True, True, False]
    added = [{lb["__name__"]: v for lb, _, v in out}["scrape_series_added"] for _, out in samples]
    assert added == [2, 0, 0, 0]
    last = samples[-1][1]
    stale = [lb for lb, _, v in last if _bits(v) == _bits(STALE_NAN)]
    assert [lb["__name__"] for lb in stale] == ["b"]


def test_a_failure_between_cached_scrapes_resets_what_was_seen() -> None:
    """After a failed scrape (every series ended), the next scrape replays from the cache
    and writes exactly what the full path writes: its series added again."""
    target = _target()
    outs = []
    for cache in (ScrapeCache(), None):
        state = TargetState(target)
        first = _samples(b"a 1\nb 1\n", TEXT, target, 0, state.cache)
        first.started = 0
        _with_staleness_and_report(state, first)
        down = _with_staleness_and_report(state, ScrapeResult(error="down", started=1.0))
        assert sorted(lb["__name__"] for lb, _, v in down if _bits(v) == _bits(STALE_NAN)) \
            == ["a", "b"]
        again = _samples(b"a 2\nb 2\n", TEXT, target, 2000, cache and state.cache)
        assert again.cached is (cache is not None)
        again.started = 2.0
        out = list(_with_staleness_and_report(state, again))
        assert {lb["__name__"]: v for lb, _, v in out}["scrape_series_added"] == 2
        later = _samples(b"a 3\n", TEXT, target, 3000, cache and state.cache)
        later.started = 3.0
        outs.append((out, [(lb, t, _bits(v)) for lb, t, v in
                           _with_staleness_and_report(state, later)]))
    assert outs[0][0] == outs[1][0] and outs[0][1] == outs[1][1]


_NAMES = st.sampled_from(["a", "b_total", "c:d", "e_bucket", "f_sum"])
_LABELS = st.dictionaries(st.sampled_from(["x", "le", "job", "instance", "__name__"]),
                          st.text("ab =,{}\"#\\\t", max_size=4), max_size=2)
_TOKENS = st.sampled_from(["1", "-2.5", "0", "-0", "1e3", "NaN", "nan", "+NaN", "Inf", "+Inf",
                           "-inf", "infinity", "1_0", "0x1", "1e999", "", "1 2", "x",
                           "\u0663", ".5", "5.", "+1"])
_COMMENTS = st.sampled_from(["", "# TYPE a gauge", "# TYPE b_total counter", "# HELP a h",
                             "# TYPE e histogram", "#", "  "])


def _line(name: str, labels: dict[str, str], token: str) -> str:
    if not labels:
        return f"{name} {token}"
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{inner}}} {token}"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.tuples(_NAMES, _LABELS), _COMMENTS), min_size=1, max_size=8),
       st.data())
def test_fuzz_cache_agrees_with_the_full_parse(shape, data) -> None:
    target = _target()
    bodies = []
    for _ in range(3):
        lines = [c if isinstance(c, str) else _line(c[0], c[1], data.draw(_TOKENS))
                 for c in shape]
        bodies.append("\n".join(lines) + "\n")
    cache = ScrapeCache()
    for body in bodies:
        assert _outcome(body, target, cache) == _outcome(body, target, None)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.tuples(_NAMES, _LABELS), _COMMENTS), min_size=1, max_size=6),
       st.data())
def test_fuzz_an_edited_body_agrees_with_the_full_parse(shape, data) -> None:
    """The second body is the first with a few characters replaced, inserted or deleted
    anywhere (a key, a comment, a line break, a value): the cache replays it only when the
    full parse reads the same series and comments, and gives what the full parse gives."""
    target = _target()
    lines = [c if isinstance(c, str) else _line(c[0], c[1], data.draw(_TOKENS)) for c in shape]
    first = "\n".join(lines) + "\n"
    second = first
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(second)))
        cut = data.draw(st.integers(0, 2))
        second = second[:at] + data.draw(st.text(" \n#{}=\"a1.,", max_size=2)) + \
            second[at + cut:]
    cache = ScrapeCache()
    _outcome(first, target, cache)
    assert _outcome(second, target, cache) == _outcome(second, target, None)
