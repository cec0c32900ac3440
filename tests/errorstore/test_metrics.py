"""errors_total of the server's store: the top K groups by count, the rest in a _other
that never goes down when groups change places; the alert gauges."""

from __future__ import annotations

import pytest

from watchkeeper.errorstore import ErrorStore
from watchkeeper.errorstore.metrics import ErrorStoreCollector


def _events(kind: str, n: int) -> list[dict]:
    return [{"message": f"{kind} failed", "tags": {"http_route": "/r"}} for _ in range(n)]


def _scrape(collector: ErrorStoreCollector) -> dict[tuple[str, str], float]:
    out = {}
    for family in collector.collect():
        for s in family.samples:
            key = s.labels.get("error_group") or s.labels.get("status", "")
            out[(s.name, key)] = s.value
    return out


@pytest.fixture
def store(tmp_path):
    s = ErrorStore(tmp_path / "errors.db")
    yield s
    s.close()


def test_top_k_and_a_monotonic_other(store) -> None:
    a = store.add_events(_events("alpha", 5))[0]["group"]
    b = store.add_events(_events("beta", 3))[0]["group"]
    c = store.add_events(_events("gamma", 1))[0]["group"]
    collector = ErrorStoreCollector(store, k=2)
    first = _scrape(collector)
    assert first[("errors_total", a)] == 5 and first[("errors_total", b)] == 3
    assert first[("errors_total", "_other")] == 1 and ("errors_total", c) not in first
    store.add_events(_events("gamma", 9))  # gamma overtakes beta: beta goes to _other
    second = _scrape(collector)
    assert second[("errors_total", c)] == 10 and ("errors_total", b) not in second
    assert second[("errors_total", "_other")] >= first[("errors_total", "_other")]
    store.add_events(_events("beta", 1))
    third = _scrape(collector)
    assert third[("errors_total", "_other")] == second[("errors_total", "_other")] + 1
    assert third[("watchkeeper_error_groups", "open")] == 3


def test_alert_gauges_for_new_and_regressed_groups(store) -> None:
    gid = store.add_events(_events("delta", 1))[0]["group"]
    store.set_status(gid, "resolved")
    store.add_events(_events("delta", 1))
    got = _scrape(ErrorStoreCollector(store, k=1))
    assert got[("watchkeeper_error_group_regressed", gid)] == 1
    assert got[("watchkeeper_error_group_first_seen_timestamp_seconds", gid)] > 0
