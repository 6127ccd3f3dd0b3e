"""The console's SVG charts: axes that read easily, bars and lines where the values
are, gaps where there are none, every text escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from bridge.web.console.charts import Series, axis_top, bar_chart, empty_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
HOURS = [f"{h:02d}:00" for h in range(24)]


def test_axis_tops_are_nice_numbers_covering_the_largest_value():
    assert axis_top(5, whole=True) == 8           # steps of 2
    assert axis_top(0, whole=True) == 4           # an empty day still has an axis
    assert axis_top(3, whole=True) == 4           # counts never step under 1
    assert axis_top(1000, whole=True) == 1000     # steps of 250
    assert axis_top(10, whole=True) == 20         # 2.5 is no step for counts
    assert axis_top(0.37, whole=False) == 0.4
    assert axis_top(29.5, whole=False) == 40


def test_bars_stand_where_the_counts_are_and_scale_to_the_axis():
    received = [0] * 24
    received[3], received[23] = 4, 8
    svg = bar_chart("Orders per hour", HOURS, [Series("in", received), Series("shipped", [0] * 24)])
    root = ET.fromstring(str(svg))
    bars = root.findall(f"{SVG}rect[@class='series-0']")
    legend = [r for r in bars if r.get("width") == "10"]
    drawn = [r for r in bars if r not in legend]
    assert len(drawn) == 2                        # zero-count hours draw nothing
    heights = sorted(float(r.get("height")) for r in drawn)
    assert heights[1] == 2 * heights[0]           # 8 is twice 4
    assert [t.text for t in root.findall(f"{SVG}text[@class='axis']")][:5] == ["0", "2", "4", "6", "8"]
    assert "03:00 in: 4" in str(svg)


def test_a_line_breaks_where_an_hour_has_no_value():
    values: list[float | None] = [None] * 24
    values[1], values[2], values[5] = 1.5, 2.5, 3.0
    root = ET.fromstring(str(line_chart("Latency", HOURS, [Series("p50", values)], unit="seconds")))
    assert len(root.findall(f"{SVG}circle")) == 3
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 2  # hours 1-2; 5 alone


def test_titles_and_names_are_escaped():
    svg = str(bar_chart("<b>x</b>", ["<i>"], [Series("a&b", [1])]))
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "a&amp;b" in svg
    ET.fromstring(svg)  # still well-formed
    empty = str(empty_chart("429s", "no <data>"))
    assert re.search(r"no &lt;data&gt;", empty)
