"""The error store: one row per group, regressions, users, redacted samples, statuses."""

from __future__ import annotations

import time

import pytest

from watchkeeper.errorstore import ErrorStore, UnknownGroup
from watchkeeper.integrations.errors.event import build_event


def _event(i: int, *, user: str | None = None, release: str | None = None,
           route: str = "/orders/{id}") -> dict:
    def handler(order_id: int, api_token: str = "abc") -> None:
        raise LookupError(f"order {order_id} not found")

    try:
        handler(i)
    except LookupError as e:
        return build_event(e, timestamp=time.time(), route=route, user=user, release=release)
    raise AssertionError


@pytest.fixture
def store(tmp_path):
    s = ErrorStore(tmp_path / "errors.db", samples=3)
    yield s
    s.close()


def test_events_of_one_bug_make_one_group_with_counts_users_and_releases(store) -> None:
    out = store.add_events([_event(i, user=f"u{i % 4}", release="1.0") for i in range(10)])
    assert out[0]["new"] and not any(o["new"] for o in out[1:])
    store.add_events([_event(99, user="u0", release="1.1", route="/pay")])
    (group,) = store.groups()
    assert group["count"] == 11 and group["users"] == 4
    assert (group["first_release"], group["last_release"]) == ("1.0", "1.1")
    assert group["status"] == "open" and group["title"].startswith("LookupError: order 99")
    detail = store.group(group["id"], with_samples=True)
    assert detail["routes"] == {"/orders/{id}": 10, "/pay": 1}
    assert detail["explanation"]["basis"] == "in_app_frames"
    assert len(detail["samples"]) == 3  # the last N
    frame = detail["samples"][0]["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert frame["vars"]["api_token"] == "[redacted]" and frame["vars"]["order_id"] == "99"
    assert "user" not in detail["samples"][0]  # counted in the sketch, not kept


def test_a_resolved_group_that_comes_back_is_a_regression(store) -> None:
    (first,) = store.add_events([_event(1)])
    store.set_status(first["group"], "resolved")
    (again,) = store.add_events([_event(2)])
    assert again["regressed"]
    group = store.group(first["group"])
    assert group["status"] == "open" and group["regressed"]
    store.set_status(first["group"], "resolved")
    assert not store.group(first["group"])["regressed"]


def test_an_ignored_group_stays_ignored(store) -> None:
    (first,) = store.add_events([_event(1)])
    store.set_status(first["group"], "ignored")
    (again,) = store.add_events([_event(2)])
    assert not again["regressed"] and store.group(first["group"])["status"] == "ignored"
    assert store.summary() == {"open": 0, "resolved": 0, "ignored": 1}


def test_unknown_group_and_bad_status_are_refused(store) -> None:
    with pytest.raises(UnknownGroup):
        store.group("nope")
    with pytest.raises(UnknownGroup):
        store.set_status("nope", "resolved")
    with pytest.raises(ValueError, match="status must be"):
        store.set_status("nope", "done")


def test_secrets_in_request_headers_and_extra_are_redacted(store) -> None:
    event = {"message": "boom", "request": {"headers": {"Authorization": "Bearer x",
                                                       "Cookie": "s=1", "Accept": "*/*"}},
             "extra": {"db_password": "p", "nested": {"secret_key": "k"}}}
    (out,) = store.add_events([event])
    sample = store.group(out["group"], with_samples=True)["samples"][0]
    assert sample["request"]["headers"] == {"Authorization": "[redacted]",
                                            "Cookie": "[redacted]", "Accept": "*/*"}
    assert sample["extra"] == {"db_password": "[redacted]",
                               "nested": {"secret_key": "[redacted]"}}


def test_an_attached_store_gets_what_a_process_captured_before_it_exited(tmp_path) -> None:
    import os
    import subprocess
    import sys

    script = (
        "import sys, watchkeeper\n"
        "from watchkeeper.errorstore import ErrorStore\n"
        "ErrorStore(sys.argv[1]).attach()\n"
        "def job(n):\n"
        "    raise TimeoutError(f'job {n} timed out')\n"
        "for n in range(3):\n"
        "    try:\n"
        "        job(n)\n"
        "    except TimeoutError:\n"
        "        watchkeeper.capture_exception()\n")
    db = tmp_path / "errors.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", script, str(db)], env=env, check=True, timeout=60)
    store = ErrorStore(db)
    try:
        (group,) = store.groups()
    finally:
        store.close()
    assert group["count"] == 3 and group["error_type"] == "TimeoutError"
    assert group["culprit"] == "__main__.job"
