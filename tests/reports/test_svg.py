"""The server-side chart: escaped text, gaps kept as gaps, at most a point per pixel."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from watchkeeper.reports import svg
from watchkeeper.reports.model import Chart, Line


def chart(lines: list[Line], unit: str = "seconds") -> str:
    return svg.line_chart(Chart("<b>t</b>", unit, "q", lines), 0.0, 7 * 86400.0)


def test_label_values_are_escaped_and_the_svg_is_well_formed():
    out = chart([Line('<script>alert(1)</script>', [0, 86400], [1.0, 2.0])])
    assert "<script>" not in out and "&lt;script&gt;" in out
    ET.fromstring(out)  # parses as XML


def test_a_gap_in_the_data_breaks_the_line():
    t = [i * 3600.0 for i in range(168)]
    v = [1.0 if not 50 <= i < 80 else math.nan for i in range(168)]
    d = re.search(r'class="line" d="([^"]+)"', chart([Line("x", t, v)])).group(1)
    assert d.count("M") == 2


def test_a_long_series_is_one_point_per_pixel_column():
    n = 7 * 86400 // 15  # a week at 15 s
    t = [i * 15.0 for i in range(n)]
    out = chart([Line("x", t, [float(i % 100) for i in range(n)])])
    assert len(out) < 12_000
    d = re.search(r'class="line" d="([^"]+)"', out).group(1)
    assert d.count("L") < svg.WIDTH


def test_the_y_axis_runs_from_zero_to_a_round_value_above_the_data():
    lo, hi = svg.y_range([Line("x", [0, 1], [0.12, 0.37])], "seconds")
    assert lo == 0 and hi >= 0.37 and hi <= 0.5
