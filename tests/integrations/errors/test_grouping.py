"""Grouping as Sentry does it: what keeps a group, what splits one, and why."""

from __future__ import annotations

import time

import corpus
import pytest

from watchkeeper.integrations.errors import (
    components_of_event,
    components_of_exception,
    explain,
    group_id,
)
from watchkeeper.integrations.errors.event import build_event
from watchkeeper.integrations.errors.grouping import is_library, normalize_message


def _gid(exc, fingerprint=None) -> str:
    return group_id(components_of_exception(exc, fingerprint))


@pytest.fixture(scope="module")
def events():
    return corpus.generate()


def test_corpus_has_no_wrong_merge_and_at_most_5_percent_splits(events) -> None:
    assert len(events) >= 500
    labels = [label for label, _, _ in events]
    groups = [_gid(exc, fp) for _, exc, fp in events]
    merges, splits = corpus.score(labels, groups)
    assert merges == 0
    assert splits <= 0.05
    assert len(set(groups)) == len(set(labels))


def test_an_event_dict_groups_as_its_live_exception(events) -> None:
    for _, exc, fp in events[:60]:
        event = build_event(exc, timestamp=time.time(), fingerprint=fp)
        assert components_of_event(event) == components_of_exception(exc, fp)


def test_a_deploy_that_shifts_lines_keeps_the_group() -> None:
    _, old, _ = corpus.deploy(0)
    _, new, _ = corpus.deploy(40)
    a, b = old.catch(old.ship, 1), new.catch(new.ship, 2)
    assert a.__traceback__.tb_next.tb_lineno != b.__traceback__.tb_next.tb_lineno
    assert _gid(a) == _gid(b)


def test_one_raise_site_shared_by_two_callers_is_two_groups() -> None:
    _, app, _ = corpus.deploy(0)
    assert _gid(app.catch(app.load_user, 1)) != _gid(app.catch(app.load_order, "x"))


def test_library_frames_are_left_out_and_counted() -> None:
    _, app, _ = corpus.deploy(0)
    c = components_of_exception(app.catch(app.call_remote, 5))
    assert c.frames == ("shop.orders.catch", "shop.orders.call_remote")
    assert c.library_frames == 1
    assert is_library("json.decoder", "/usr/lib/python3.11/json/decoder.py")
    assert is_library("requests.api", "/venv/lib/python3.11/site-packages/requests/api.py")
    assert not is_library("shop.views", "/srv/shop/shop/views.py")


def test_without_in_app_frames_the_message_decides_with_ids_stripped() -> None:
    assert _gid(KeyError("session 12 expired")) == _gid(KeyError("session 9931 expired"))
    assert _gid(KeyError("session 12 expired")) != _gid(KeyError("cart 12 missing"))
    assert _gid(KeyError("x 1")) != _gid(ValueError("x 1"))
    assert normalize_message(
        "user 42 in 'eu-1' id 123e4567-e89b-12d3-a456-426614174000 at 0xdeadbeef"
    ) == "user <num> in <str> id <uuid> at <num>"


def test_a_user_fingerprint_extends_or_replaces_the_default() -> None:
    _, app, _ = corpus.deploy(0)
    a, b = app.catch(app.load_user, 1), app.catch(app.load_user, 2)
    assert _gid(a, ["{{ default }}", "t1"]) != _gid(b, ["{{ default }}", "t2"])
    assert _gid(a, ["{{ default }}", "t1"]) == _gid(b, ["{{ default }}", "t1"])
    assert _gid(a, ["payments"]) == _gid(KeyError("other"), ["payments"])
    assert _gid(a, ["{{ default }}"]) == _gid(b)


def test_explain_says_what_was_compared() -> None:
    _, app, _ = corpus.deploy(0)
    why = explain(components_of_exception(app.catch(app.place, 1, "o")))
    assert why["basis"] == "in_app_frames"
    assert why["types"] == ["LookupError", "shop.orders.OrderError"]
    assert "line numbers" in why["text"] and "OrderError <- LookupError" in why["text"]
    assert explain(components_of_exception(KeyError("k 1")))["basis"] == "message"
