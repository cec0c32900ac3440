"""The dashboard in a real browser: loads clean, draws, updates live, acts, stays inert."""

from __future__ import annotations

from typing import Any

CHARTS_OF_HOST = 13  # twelve charts and the capacity table


def drawn_charts(page: Any) -> int:
    return page.evaluate(
        "() => document.querySelectorAll('.chart[data-drawn]:not([data-drawn=\"0\"])').length")


def canvas_has_ink(page: Any, selector: str) -> bool:
    """Whether the chart's canvas holds any non-transparent pixel (uPlot really drew)."""
    return page.evaluate("""(sel) => {
        const c = document.querySelector(sel + ' canvas');
        if (!c) return false;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
        return false;
    }""", selector)


def test_overview_loads_without_console_errors_and_draws_every_host_chart(served, page):
    page.page.goto(served.url + "/#/overview")
    page.page.wait_for_function(
        f"() => document.querySelectorAll('.chart[data-drawn]').length >= {CHARTS_OF_HOST}")
    assert drawn_charts(page.page) == CHARTS_OF_HOST
    assert canvas_has_ink(page.page, '.chart[data-panel="CPU busy"]')
    page.page.wait_for_selector("[data-section=health] [data-check=ok]")
    page.page.wait_for_selector("[data-section=targets] li")
    assert page.errors == []


def test_alert_that_starts_firing_appears_without_reload_and_can_be_acknowledged(served, page):
    pg = page.page
    pg.goto(served.url + "/#/alerts")
    pg.wait_for_selector("[data-section=alerts] p")
    assert pg.locator("[data-alert=DiskOnFire]").count() == 0
    pg.wait_for_selector("#status:text('live')")  # subscribed to the server's stream
    served.fire()
    # the promise: a newly firing alert shows within 2 s, no reload
    pg.wait_for_selector("[data-section=alerts] [data-alert=DiskOnFire]", timeout=2000)
    pg.click("[data-alert=DiskOnFire] [data-action=acknowledge]")
    pg.wait_for_selector("[data-alert=DiskOnFire] .badge.ack")
    [incident] = served.history.list(state="firing")
    assert incident["acked_by"], "the server never recorded the acknowledgement"
    assert page.errors == []


def test_markup_in_labels_annotations_and_check_output_stays_inert_text(served, page):
    pg = page.page
    served.fire()
    pg.goto(served.url + "/#/overview")
    pg.wait_for_selector("[data-section=firing] [data-alert=DiskOnFire]")
    pg.wait_for_selector("[data-check=evil]")
    pg.wait_for_function(
        f"() => document.querySelectorAll('.chart[data-drawn]').length >= {CHARTS_OF_HOST}")
    text = pg.inner_text("body")
    assert "<img src=x onerror=window.__pwned=1>" in text  # shown literally ...
    assert "team=<b>ops</b>" in text
    assert pg.locator("main img, main b").count() == 0  # ... and never parsed as markup
    assert pg.evaluate("() => window.__pwned === undefined")
    pg.goto(served.url + "/#/alerts")
    pg.wait_for_selector("[data-alert=DiskOnFire]")
    assert pg.locator("main img, main b").count() == 0
    assert pg.evaluate("() => window.__pwned === undefined")


def test_explore_runs_a_query_as_graph_and_table_and_the_url_carries_it(served, page):
    pg = page.page
    pg.goto(served.url + "/#/explore")
    box = pg.locator("textarea.promql")
    box.fill("node_memory_Mem")
    pg.wait_for_selector(".suggest li")
    assert "node_memory_MemAvailable_bytes" in pg.inner_text(".suggest")
    box.fill('node_cpu_seconds_total{mode="us')
    pg.wait_for_selector(".suggest li:text('user')")  # label values complete inside quotes
    box.press("Tab")
    assert box.input_value() == 'node_cpu_seconds_total{mode="user'
    box.fill('rate(node_cpu_seconds_total{mode="user"}[5m])')
    box.press("Enter")
    pg.wait_for_selector(".explore-result .chart[data-drawn='1']")
    assert canvas_has_ink(pg, ".explore-result .chart")
    assert "q=rate" in pg.url
    pg.click("button[role=tab]:text('table')")
    pg.wait_for_selector("table.results tbody tr")
    assert 'cpu=0' in pg.inner_text("table.results")
    shared = pg.url
    pg.goto("about:blank")
    pg.goto(shared)  # the shared link reproduces the table
    pg.wait_for_selector("table.results tbody tr")
    assert page.errors == []


def test_health_page_shows_history_and_latency(served, page):
    pg = page.page
    pg.goto(served.url + "/#/health")
    pg.wait_for_selector("[data-check=evil] .strip .cell.bad")
    pg.wait_for_selector(".chart[data-panel='Check latency'][data-drawn='1']")
    assert "unhealthy" in pg.inner_text("[data-check=evil]")
    assert "flapping" in pg.inner_text("[data-check=flappy]")
    assert "flapping" not in pg.inner_text("[data-check=ok]")
    assert page.errors == []


def test_silence_and_resolve_reach_the_server_and_the_timeline_draws(served, page):
    pg = page.page
    served.fire()
    pg.goto(served.url + "/#/alerts")
    pg.wait_for_selector("[data-alert=DiskOnFire]")
    if pg.locator("[data-alert=DiskOnFire] .badge.ack").count() == 0:  # run on its own
        pg.click("[data-alert=DiskOnFire] [data-action=acknowledge]")
        pg.wait_for_selector("[data-alert=DiskOnFire] .badge.ack")
    pg.click("[data-alert=DiskOnFire] [data-action=timeline]")
    pg.wait_for_selector("[data-alert=DiskOnFire] .timeline .strip .cell.bad")
    pg.wait_for_selector("[data-alert=DiskOnFire] .timeline ol.events li:has-text('ack')")
    pg.click("[data-alert=DiskOnFire] [data-action=silence]")  # the dialog answers 1 hour
    pg.wait_for_selector(".note:text('Silence: done')")
    [silence] = served.silences.list()
    assert ("alertname", "DiskOnFire") in [(m.name, m.value) for m in silence.matchers]
    pg.wait_for_selector("[data-section=silences] .chip:text('alertname=DiskOnFire')")
    pg.click("[data-alert=DiskOnFire] [data-action=resolve]")
    pg.wait_for_selector(".note:text('Resolve: done')")
    assert served.history.list(state="resolved")
    assert page.errors == []


def test_readable_on_a_phone_and_in_dark(served, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  color_scheme="dark", is_mobile=True)
    pg = context.new_page()
    pg.goto(served.url + "/#/overview")
    pg.wait_for_function(
        f"() => document.querySelectorAll('.chart[data-drawn]').length >= {CHARTS_OF_HOST}")
    assert pg.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    background = pg.evaluate("() => getComputedStyle(document.body).backgroundColor")
    pg.click("#theme")  # the toggle switches to light
    pg.wait_for_function(f"() => getComputedStyle(document.body).backgroundColor !== "
                         f"'{background}'")
    assert background == "rgb(15, 18, 22)"
    context.close()


def test_thresholds_edit_and_dashboards_render(served, page):
    pg = page.page
    pg.goto(served.url + "/#/alerts")
    field = pg.locator("input[aria-label='warning cpu_busy']")
    field.fill("75")
    pg.click("[data-threshold=cpu_busy] button")
    pg.wait_for_selector(".note:text('threshold cpu_busy saved')")
    saved = served.thresholds.get("cpu_busy")
    assert (saved.warning, saved.critical, saved.expr) == (75.0, 95.0, "cpu_busy_ratio")
    pg.goto(served.url + "/#/dashboards/targets")
    pg.wait_for_selector(".chart[data-panel='Targets up'][data-drawn='1']")
    assert page.errors == []


def test_host_legends_are_names_never_queries_or_braces(served, page):
    pg = page.page
    pg.goto(served.url + "/#/overview")
    pg.wait_for_function(
        f"() => document.querySelectorAll('.chart[data-drawn]').length >= {CHARTS_OF_HOST}")

    def legend(title: str) -> list[str]:
        return pg.locator(f'.chart[data-panel="{title}"] .series-name').all_inner_texts()

    assert legend("CPU busy") == ["busy"]  # an aggregate, named by its panel's legend
    assert legend("Swap used") == ["swap used"]
    assert legend("Memory available") == ["available"]
    assert legend("Filesystem used") == ["/"]  # a template filled from the series' labels
    assert "{}" not in pg.locator(".legend").all_inner_texts()
    assert page.errors == []


def test_one_request_started_before_the_app_draws_every_host_panel(served, page):
    from urllib.parse import parse_qs, urlsplit

    from watchkeeper.dashboard import builtin_dashboards

    pg = page.page
    asked: list[str] = []
    pg.on("request", lambda r: asked.append(r.url))
    pg.goto(served.url + "/#/overview?range=6h")
    pg.wait_for_function(
        f"() => document.querySelectorAll('.chart[data-drawn]').length >= {CHARTS_OF_HOST}")
    batches = [urlsplit(u) for u in asked if urlsplit(u).path == "/dashboards/host/query"]
    assert len(batches) == 1
    window = {k: int(v[0]) for k, v in parse_qs(batches[0].query).items()}
    assert window["end"] - window["start"] == 6 * 3600
    # sent by the inline boot script before the app's module ran, and taken over by it
    sent, started = pg.evaluate("""() => ['panels:prefetch', 'app:start'].map(
        (n) => performance.getEntriesByName(n)[0].startTime)""")
    assert sent < started
    host = {p.expr for p in next(d for d in builtin_dashboards() if d.id == "host").panels()}
    singles = [parse_qs(urlsplit(u).query).get("query", [""])[0] for u in asked
               if urlsplit(u).path in ("/api/v1/query_range", "/api/v1/query")]
    assert not host & set(singles)
    assert page.errors == []  # the Content-Security-Policy let the inline script run
