import asyncio
import threading

from watchkeeper.integrations.context import (
    UNMATCHED,
    Work,
    current_work,
    reset_work,
    set_work,
    work_name,
    working,
)


def test_no_work_outside_a_request_or_job():
    assert current_work() is None
    assert work_name() == ""


def test_working_labels_everything_inside_and_restores():
    with working("job", "send_email") as w:
        assert work_name() == "send_email"
        assert current_work() is w and w.kind == "job"
        with working("task", "render"):
            assert work_name() == "render"
        assert work_name() == "send_email"
    assert current_work() is None


def test_lazy_name_resolves_once_the_framework_has_routed():
    routed: dict[str, str] = {}
    work = Work("http", resolve=lambda: routed.get("route"))
    token = set_work(work)
    try:
        assert work_name() == UNMATCHED  # not routed yet: never a raw path
        routed["route"] = "/users/{id}"
        assert work_name() == "/users/{id}"
        routed["route"] = "/other"
        assert work_name() == "/users/{id}"  # resolved once, stays
    finally:
        reset_work(token)


def test_each_asyncio_task_and_thread_sees_its_own_work():
    seen: dict[str, str] = {}

    async def handler(name):
        with working("http", name):
            await asyncio.sleep(0)
            seen[name] = work_name()

    async def main():
        await asyncio.gather(handler("/a"), handler("/b"))

    asyncio.run(main())
    assert seen == {"/a": "/a", "/b": "/b"}

    def in_thread():
        seen["thread"] = work_name()

    with working("job", "outer"):
        t = threading.Thread(target=in_thread)
        t.start()
        t.join()
    assert seen["thread"] == ""  # a new thread starts with an empty context
