"""Dashboard speed in headless chromium: navigation to every overview chart drawn with 24 h
of history behind its 12 host panels, and the page's transferred weight.

Goals (issue 9): median load <= 500 ms; page weight <= 300 KB. Prints figures and goals.
Run: .venv/bin/python bench/dashboard.py [--loads N]
     .venv/bin/python bench/dashboard.py --hours 720 --step 1 --range 30d  # 30 days at 1 s
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "dashboard"))

GOAL_MS = 500
GOAL_KB = 300
PANELS = 12
CHROMIUM = "/usr/bin/chromium"
PHASES: list[tuple[float, float, float, float]] = []  # in-page marks of each load
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _is_data(url: str) -> bool:
    """Query answers and health documents, as opposed to the page's own assets."""
    path = urlsplit(url).path
    return path.startswith(("/api/", "/health")) or (
        path.startswith("/dashboards/") and path.endswith("/query"))


def one_load(browser, url: str, context=None) -> tuple[float, int, int]:
    """(ms to all charts drawn, bytes of page assets, bytes of API data); a new context is
    a cold load (empty cache), a given one a return visit."""
    own = context is None
    context = context or browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    finished: list = []
    # sizes are asked of the browser after the clock stops: a round trip to it per request
    # while the page loads would slow the load being measured
    page.on("requestfinished", lambda request: finished.append(request))
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_function(
        f"() => document.querySelectorAll('.chart[data-drawn]').length >= {PANELS}",
        timeout=60_000)
    elapsed = (time.perf_counter() - started) * 1000
    drawn = page.evaluate("() => document.querySelectorAll('.chart[data-drawn]:not("
                          "[data-drawn=\"0\"])').length")
    if drawn < PANELS:
        raise SystemExit(f"only {drawn} of {PANELS} charts drew data")
    marks = page.evaluate("() => Object.fromEntries(performance.getEntriesByType('mark')"
                          ".map(m => [m.name, m.startTime]))")
    # the boot script sends the panels' request before the app runs, when it can
    sent = marks.get("panels:prefetch", marks.get("panels:fetch", 0))
    PHASES.append((marks.get("app:start", 0), sent, marks.get("panels:data", 0),
                   marks.get("panels:drawn", 0)))
    page.wait_for_load_state("networkidle", timeout=10_000)
    sizes: dict[str, int] = {}
    for request in finished:
        try:
            s = request.sizes()
            sizes[request.url] = s["responseBodySize"] + s["responseHeadersSize"]
        except Exception:
            pass
    page.close()
    if own:
        context.close()
    assets = sum(v for k, v in sizes.items() if not _is_data(k))
    data = sum(v for k, v in sizes.items() if _is_data(k))
    return elapsed, assets, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--hours", type=float, default=24, help="History seeded, hours.")
    parser.add_argument("--step", type=int, default=15, help="Seconds between samples.")
    parser.add_argument("--range", default="24h", help="The page's range: 15m 1h 6h 24h 7d.")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    from seed import seed_host
    from streams import stream_routes

    from watchkeeper.dashboard.preview import preview_app, run_in_thread
    from watchkeeper.health.runner import Runner
    from watchkeeper.tsdb import Store

    with tempfile.TemporaryDirectory(prefix="wk-bench-dashboard-") as tmp, \
            Store.open(tmp) as store:
        seeded = time.perf_counter()
        series = seed_host(store, int(time.time()), hours=args.hours, step_s=args.step)
        store.maintain()  # as a long-running server's store would be: chunks and rollups
        print(f"seeded {series} series x {args.hours:g} h at {args.step} s in "
              f"{time.perf_counter() - seeded:.0f} s", flush=True)
        runner = Runner()
        # with the live streams, as `watchkeeper serve` has them: the page subscribes on load
        app = preview_app(store, runner=runner, extra_routes=stream_routes(store, runner))
        server, url = run_in_thread(app, free_port())
        page = f"/#/overview?range={args.range}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                one_load(browser, url + page)  # warm the server's caches
                loads = max(1, min(args.loads, 30))
                runs = [one_load(browser, url + page) for _ in range(loads)]
                visited = browser.new_context(viewport={"width": 1280, "height": 900})
                one_load(browser, url + page, visited)
                warm = sorted(one_load(browser, url + page, visited)[0]
                              for _ in range(loads))
                visited.close()
                browser.close()
        finally:
            server.should_exit = True
    times = sorted(r[0] for r in runs)
    assets_kb = runs[-1][1] / 1024
    data_kb = runs[-1][2] / 1024
    median = statistics.median(times)
    print(f"dashboard overview: {series} series x {args.hours:g} h at {args.step} s, "
          f"range {args.range}, {PANELS} panels, "
          f"{len(runs)} cold loads in headless chromium")
    # the page, the server and the browser share this machine's cores with whatever else runs
    print(f"  machine load average (1 min) at the end: {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores")
    print(f"  load to all charts drawn: median {median:.0f} ms (min {times[0]:.0f}, "
          f"max {times[-1]:.0f})   goal <= {GOAL_MS} ms   ratio {median / GOAL_MS:.2f}")
    cold = PHASES[1:1 + len(runs)]
    start, fetch, data, drawn = (statistics.median(p[i] for p in cold) for i in range(4))
    print(f"  phases (median, ms from navigation): panels' request sent {fetch:.0f}, app "
          f"running {start:.0f}, data in the app {data:.0f} ({data - fetch:.0f} after the "
          f"request), charts drawn {drawn:.0f}")
    print(f"  return visit (assets cached): median {statistics.median(warm):.0f} ms")
    print(f"  page weight transferred (html, js, css): {assets_kb:.1f} KB   "
          f"goal <= {GOAL_KB} KB   ratio {assets_kb / GOAL_KB:.2f}")
    print(f"  query data transferred per load: {data_kb:.1f} KB (not part of the goal)")


if __name__ == "__main__":
    main()
