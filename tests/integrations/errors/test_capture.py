"""capture_exception, the logging handler and the middlewares' hook: counted once, in the
right group, route and type; sinks get redacted events."""

from __future__ import annotations

import logging
import time

import pytest

import watchkeeper
from watchkeeper import generate_latest
from watchkeeper.integrations.context import Work, working
from watchkeeper.integrations.errors import CAPTURE, ErrorHandler, on_unhandled
from watchkeeper.integrations.errors.capture import OTHER


@pytest.fixture(autouse=True)
def clean():
    CAPTURE.reset()
    yield
    CAPTURE.reset()


def checkout(order_id: int, password: str = "hunter2") -> None:
    raise ValueError(f"order {order_id} has no items")


def _raise(i: int) -> ValueError:
    try:
        checkout(i)
    except ValueError as e:
        return e
    raise AssertionError


def _counts() -> dict[tuple[str, str, str], int]:
    return dict(CAPTURE.counts)


def test_capture_counts_by_group_type_and_route() -> None:
    with working("http", "/orders/{id}"):
        gid = watchkeeper.capture_exception(_raise(1))
        watchkeeper.capture_exception(_raise(2))
    assert _counts() == {(gid, "ValueError", "/orders/{id}"): 2}
    text = generate_latest().decode()
    assert f'errors_total{{error_group="{gid}",error_type="ValueError",' \
           f'http_route="/orders/{{id}}"}} 2.0' in text


def test_capture_without_argument_takes_the_exception_being_handled() -> None:
    assert watchkeeper.capture_exception() is None
    try:
        checkout(3)
    except ValueError:
        gid = watchkeeper.capture_exception()
    assert gid and sum(_counts().values()) == 1


def test_the_same_exception_seen_by_two_hooks_counts_once() -> None:
    exc = _raise(4)
    on_unhandled(exc, Work("http", "/pay"))
    logger = logging.getLogger("test.errors.once")
    handler = ErrorHandler()
    logger.addHandler(handler)
    try:
        try:
            raise exc
        except ValueError:
            logger.exception("payment failed")
    finally:
        logger.removeHandler(handler)
    assert list(_counts().values()) == [1]
    assert next(iter(_counts()))[2] == "/pay"


def test_logging_handler_captures_logger_exception_only() -> None:
    logger = logging.getLogger("test.errors.handler")
    handler = ErrorHandler()
    logger.addHandler(handler)
    try:
        logger.error("no exception here")
        try:
            checkout(5)
        except ValueError:
            logger.exception("checkout failed")
    finally:
        logger.removeHandler(handler)
    assert sum(_counts().values()) == 1


def test_group_label_is_capped_and_the_rest_is_other() -> None:
    CAPTURE.max_groups = 2
    try:
        for i in range(5):
            watchkeeper.capture_exception(KeyError(f"kind{'abcde'[i]} missing"))
    finally:
        CAPTURE.max_groups = 100
    groups = [g for g, _, _ in _counts()]
    assert len(groups) == 3 and OTHER in groups
    assert _counts()[(OTHER, "KeyError", "")] == 3


def test_a_sink_gets_events_with_secrets_redacted() -> None:
    got: list[dict] = []
    CAPTURE.add_sink(got.extend)
    try:
        watchkeeper.capture_exception(_raise(6), user="u1")
        for _ in range(500):  # the drain thread may be handing it out right now
            CAPTURE.flush()
            if got:
                break
            time.sleep(0.01)
    finally:
        CAPTURE.remove_sink(got.extend)
    (event,) = got
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert frame["function"] == "checkout" and frame["in_app"]
    assert frame["vars"] == {"order_id": "6", "password": "[redacted]"}
    assert event["user"] == {"id": "u1"}


def test_capture_works_without_any_sink_and_keeps_no_exception() -> None:
    watchkeeper.capture_exception(_raise(7))
    assert not CAPTURE.queue


def test_workers_of_a_pre_fork_server_add_into_one_errors_total(tmp_path, monkeypatch) -> None:
    from multiproc import run_in_child, scrape
    from watchkeeper.integrations.errors import ErrorCapture

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    def worker() -> None:
        capture = ErrorCapture()  # a worker's own, as after a fork before any capture
        for i in range(3):
            capture.capture(_raise(i), route="/orders/{id}")

    run_in_child(worker)
    run_in_child(worker)
    merged = {}
    for family in scrape(tmp_path).collect():
        for sample in family.samples:
            if sample.name == "errors_total":
                merged[sample.labels["error_type"], sample.labels["http_route"]] = sample.value
    assert merged == {("ValueError", "/orders/{id}"): 6}
