"""Exception groups are grouped by what they hold, as Sentry does, from a live exception, from
our own events and from the real sentry-sdk's events alike."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from watchkeeper.integrations.errors import (
    components_of_event,
    components_of_exception,
    explain,
    group_id,
)
from watchkeeper.integrations.errors.event import build_event


def fetch_user(user_id: int) -> None:
    raise LookupError(f"user {user_id} not found")


def charge(amount: int) -> None:
    raise ValueError(f"amount {amount} over the limit")


def convert(raw: str) -> None:
    try:
        int(raw)
    except ValueError as e:
        raise RuntimeError(f"bad input {raw!r}") from e


def caught(fn: Any, *args: Any) -> BaseException:
    try:
        fn(*args)
    except Exception as e:
        return e
    raise AssertionError("did not raise")


def group(*members: BaseException, message: str = "several failures") -> BaseException:
    try:
        raise ExceptionGroup(message, list(members))
    except ExceptionGroup as e:
        return e


def gid(exc: BaseException) -> str:
    return group_id(components_of_exception(exc))


def test_copies_of_one_error_are_that_error_however_many() -> None:
    one = group(caught(fetch_user, 1))
    three = group(caught(fetch_user, 2), caught(fetch_user, 3), caught(fetch_user, 4))
    nested = group(group(caught(fetch_user, 5)), message="outer")
    assert gid(one) == gid(three) == gid(nested)
    c = components_of_exception(three)
    assert c.types == ("LookupError",)  # the group itself is left out
    assert c.group == (3, 1)


def test_a_lone_error_keeps_its_cause_chain() -> None:
    c = components_of_exception(group(caught(convert, "x"), caught(convert, "y")))
    assert c.types == ("ValueError", "RuntimeError")
    assert gid(group(caught(convert, "z"))) != gid(group(caught(fetch_user, 1)))


def test_distinct_errors_keep_the_group_in_any_order() -> None:
    ab = group(caught(fetch_user, 1), caught(charge, 10))
    ba = group(caught(charge, 20), caught(fetch_user, 2), caught(charge, 30))
    assert gid(ab) == gid(ba)
    c = components_of_exception(ba)
    assert c.types == ("LookupError", "ValueError", "ExceptionGroup")
    assert c.group == (3, 2)
    assert gid(ab) != gid(group(caught(fetch_user, 1)))
    assert gid(ab) != gid(group(caught(fetch_user, 1), caught(convert, "x")))


def test_a_task_group_failure_is_grouped_by_its_tasks() -> None:
    async def failing(n: int) -> None:
        await asyncio.sleep(0)
        fetch_user(n)

    async def main(count: int) -> None:
        async with asyncio.TaskGroup() as tg:
            for i in range(count):
                tg.create_task(failing(i))

    def run(count: int) -> BaseException:
        try:
            asyncio.run(main(count))
        except BaseExceptionGroup as e:
            return e
        raise AssertionError("did not raise")

    assert gid(run(1)) == gid(run(4))
    assert "distinct" in explain(components_of_exception(run(2)))["text"]


@pytest.mark.parametrize("make", [
    lambda: group(caught(fetch_user, 1), caught(fetch_user, 2)),
    lambda: group(caught(fetch_user, 1), caught(charge, 3), group(caught(convert, "q"))),
    lambda: group(caught(convert, "a")),
])
def test_our_event_groups_as_its_live_exception(make) -> None:
    exc = make()
    event = build_event(exc, timestamp=time.time())
    assert components_of_event(event) == components_of_exception(exc)
    ids = [v["mechanism"]["exception_id"] for v in event["exception"]["values"]]
    assert sorted(ids) == list(range(len(ids)))  # the whole tree is in the event


def test_the_real_sentry_sdk_events_group_as_the_live_exceptions() -> None:
    sentry_sdk = pytest.importorskip("sentry_sdk")
    sent: list[dict[str, Any]] = []

    def keep(event: dict[str, Any], hint: Any) -> None:
        sent.append(event)
        return None  # nothing leaves the process

    cases = [
        group(caught(fetch_user, 1), caught(fetch_user, 2)),
        group(caught(charge, 1), caught(fetch_user, 2), caught(charge, 3)),
        group(caught(convert, "a"), caught(convert, "b")),  # causes under members
        group(group(caught(charge, 4)), caught(fetch_user, 9), message="outer"),
    ]
    sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", before_send=keep,
                    default_integrations=False)
    try:
        for exc in cases:
            sentry_sdk.capture_exception(exc)
    finally:
        sentry_sdk.init()  # no DSN: nothing more is sent
    assert len(sent) == len(cases)
    for exc, event in zip(cases, sent, strict=True):
        assert group_id(components_of_event(event)) == gid(exc)
