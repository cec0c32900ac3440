"""Without alerting, targets or a stream the page still works and says what is missing."""

from __future__ import annotations

import time

import pytest

from peers import free_port


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    from seed import seed_host

    from watchkeeper.dashboard.preview import preview_app, run_in_thread
    from watchkeeper.tsdb import Store

    store = Store.open(tmp_path_factory.mktemp("bare"))
    seed_host(store, int(time.time()))
    server, url = run_in_thread(preview_app(store), free_port())
    yield url
    server.should_exit = True
    time.sleep(0.3)
    store.close()


def test_missing_apis_show_unavailable_panels_and_throw_nothing(bare, page):
    pg = page.page
    pg.goto(bare + "/#/alerts")
    pg.wait_for_selector("[data-unavailable=Alerts]")
    pg.wait_for_selector("[data-unavailable=Thresholds]")
    pg.goto(bare + "/#/overview")
    pg.wait_for_selector("[data-section=firing] [data-unavailable=Alerts]")
    # targets fall back to the up series when /api/v1/targets is absent
    pg.wait_for_selector("[data-section=targets] li")
    pg.wait_for_function("() => document.querySelectorAll('.chart[data-drawn]').length >= 12")
    assert not [e for e in page.errors if e.startswith("uncaught")]
