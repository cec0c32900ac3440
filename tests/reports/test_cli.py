"""``watchkeeper report``: Markdown to a terminal, HTML opened in the real Chromium with
its charts drawn, and a PDF printed through the page's print CSS."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from peers import require_binary
from watchkeeper.cli.main import cli


def run(*args: str) -> object:
    result = CliRunner().invoke(cli, ["report", *args], catch_exceptions=False)
    return result


def test_markdown_report_lists_each_query_it_numbers(planted):
    data, end = planted
    result = run("--data", str(data), "--period", "7d", "--end", str(end), "--format", "md")
    assert result.exit_code == 0, result.output
    md = result.output
    assert md.startswith("# watchkeeper report, last 7d")
    for title in ("## Availability", "## Alerts", "## Golden signals", "## Capacity",
                  "## Store and scrape health", "## Error groups"):
        assert title in md
    assert re.search(r"^\| db \| 98\.8% \| 1 \| 2h \|", md, re.M)
    assert "| api | 713 ms | 357 ms | +99.9% |" in md
    for section in md.split("\n## ")[1:]:
        marks = {int(n) for n in re.findall(r" \[(\d+)\]", section)}
        listed = {int(n) for n in re.findall(r"^(\d+)\. [^`\n]+: `", section, re.M)}
        assert marks == listed, section[:80]
    assert "histogram_quantile(0.95, sum by (job, le) (rate(" \
           "http_server_request_duration_seconds_bucket[7d])))" in md
    assert "▁" in md or "█" in md  # the charts, as block characters


def test_html_report_opens_in_chromium_with_its_charts_visible(planted, browser, tmp_path):
    data, end = planted
    out = tmp_path / "week.html"
    result = run("--data", str(data), "--end", str(end), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "html" in result.output
    html = out.read_text()
    assert "<script" not in html
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    charts = page.locator("svg.chart")
    assert charts.count() >= 5  # uptime, alerts firing, three golden signals
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box["width"] > 500 and box["height"] > 100
        lines = chart.locator("path.line")
        assert lines.count() >= 1
        drawn = lines.first.bounding_box()
        assert drawn is not None and drawn["width"] > 200  # a line across the period
        assert chart.is_visible()
    # the pixels: a chart's area holds the palette's blue, not only white and grid grey
    first = charts.nth(2)
    first.scroll_into_view_if_needed()
    shot = first.screenshot()
    assert _has_colour(shot, (0x3b, 0x82, 0xf6))
    assert requests == [out.as_uri()]  # nothing fetched beyond the page itself
    mark = page.locator("#signals th sup a").first
    assert "histogram_quantile" in mark.get_attribute("title")
    page.close()


def _has_colour(png: bytes, rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    import struct
    import zlib

    # decode the PNG Chromium wrote (8-bit RGB(A), no interlace): enough for a colour test
    pos, chunks, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(png):
        size, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + size]
        if kind == b"IHDR":
            width, height, _, colour = struct.unpack(">IIBB", body[:10])
            channels = 4 if colour == 6 else 3
        elif kind == b"IDAT":
            chunks += body
        pos += 12 + size
    raw = zlib.decompress(chunks)
    stride = width * channels
    prev = bytearray(stride)
    row_start = 0
    for _ in range(height):
        kind = raw[row_start]
        line = bytearray(raw[row_start + 1:row_start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        for x in range(0, stride, channels):
            if all(abs(line[x + k] - rgb[k]) <= tolerance for k in range(3)):
                return True
        prev = line
        row_start += 1 + stride
    return False


def test_pdf_is_printed_through_the_print_css(planted, tmp_path):
    require_binary("chromium")
    data, end = planted
    out = tmp_path / "week.pdf"
    result = run("--data", str(data), "--end", str(end), "--out", str(out))
    assert result.exit_code == 0, result.output
    body = out.read_bytes()
    assert body.startswith(b"%PDF-") and len(body) > 10_000
    assert len(re.findall(rb"/Type\s*/Page[^s]", body)) >= 2  # A4 pages, not one long sheet


@pytest.mark.parametrize("args, message", [
    (["--period", "5x"], "not a valid duration"),
    (["--format", "pdf"], "--format pdf needs --out"),
    (["--data", "/nonexistent/wk"], "no store at"),
])
def test_bad_arguments_are_named(args, message):
    result = CliRunner().invoke(cli, ["report", *args])
    assert result.exit_code != 0 and message in result.output


def test_a_store_held_by_serve_sends_the_user_to_url(planted):
    from watchkeeper.tsdb.store import Store

    data, _ = planted
    with Store.open(data, background=False):
        result = CliRunner().invoke(cli, ["report", "--data", str(data)])
    assert result.exit_code == 1
    assert "is in use by another process" in result.output and "--url" in result.output
