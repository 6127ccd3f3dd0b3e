"""Charts drawn on the server as inline SVG: grouped bars or lines over labelled slots
(the hours of a day), with a y axis, gridlines, x labels and a legend. No script runs
in the browser and nothing is fetched. Every text is escaped; colours come from CSS
classes (`series-0`, `series-1`, …) in console.css."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 250
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 42, 40


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # None: no value in that slot (a gap in a line)


def nice_step(value: float, whole: bool = False) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value` (gridlines that read
    easily); with `whole`, a whole number of at least 1 (for counts)."""
    if value <= 0:
        return 1.0
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    while scale > value:
        scale /= 10
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * scale
        if step >= value and not (whole and not step.is_integer()):
            return max(1.0, step) if whole else step
    return 10 * scale


def axis_top(largest: float, whole: bool) -> float:
    """The axis's top: four gridline steps of a nice size covering `largest`."""
    return 4 * nice_step(largest / 4, whole)


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _frame(title: str, labels: Sequence[str], top: float, unit: str) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<text class="chart-title" x="{LEFT}" y="16">{escape(title)}</text>']
    for i in range(5):  # gridlines and y labels at 0, ¼ … top
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" '
                     f'y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(_number(value))}</text>')
    if unit:
        parts.append(f'<text class="axis" x="4" y="{TOP - 16}">{escape(unit)}</text>')
    slot = plot_w / max(1, len(labels))
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append(f'<line class="axis-line" x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" '
                 f'y2="{TOP + plot_h}"/>')
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], LEFT
    for i, one in enumerate(series):
        y = HEIGHT - 10
        parts.append(f'<rect class="series-{i}" x="{x}" y="{y - 9}" width="10" height="10"/>')
        parts.append(f'<text class="legend" x="{x + 14}" y="{y}">{escape(one.name)}</text>')
        x += 24 + 7 * len(one.name)
    return parts


def _svg(title: str, parts: list[str]) -> Markup:
    body = "".join(parts)
    return Markup(f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
                  f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
                  f'<title>{escape(title)}</title>{body}</svg>')


def _top(series: Sequence[Series]) -> float:
    values = [v for s in series for v in s.values if v is not None]
    return axis_top(max(values, default=0), all(float(v).is_integer() for v in values))


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], unit: str = "") -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = _top(series)
    parts = _frame(title, labels, top, unit)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    bar = slot * 0.8 / max(1, len(series))
    for s_index, one in enumerate(series):
        for i, value in enumerate(one.values):
            if not value:
                continue
            height = plot_h * value / top
            x = LEFT + slot * i + slot * 0.1 + bar * s_index
            parts.append(f'<rect class="series-{s_index}" x="{x:.1f}" y="{TOP + plot_h - height:.1f}" '
                         f'width="{bar:.1f}" height="{height:.1f}"><title>{escape(labels[i])} '
                         f'{escape(one.name)}: {escape(_number(value))}</title></rect>')
    return _svg(title, parts + _legend(series))


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series], unit: str = "") -> Markup:
    """One line per series; a slot without a value breaks the line; each point a dot."""
    top = _top(series)
    parts = _frame(title, labels, top, unit)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    for s_index, one in enumerate(series):
        runs: list[list[str]] = [[]]
        for i, value in enumerate(one.values):
            if value is None:
                runs.append([])
                continue
            x, y = LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * value / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            # Later series draw smaller dots, so equal values still show every series.
            parts.append(f'<circle class="series-{s_index}" cx="{x:.1f}" cy="{y:.1f}" '
                         f'r="{max(2, 4 - s_index)}">'
                         f'<title>{escape(labels[i])} {escape(one.name)}: '
                         f'{escape(_number(value))}</title></circle>')
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline class="line series-{s_index}" points="{" ".join(run)}"/>')
    return _svg(title, parts + _legend(series))


def empty_chart(title: str, reason: str) -> Markup:
    """A chart's place when there is nothing to draw, saying why."""
    return _svg(title, [f'<text class="chart-title" x="{LEFT}" y="16">{escape(title)}</text>',
                        f'<text class="axis" x="{WIDTH / 2}" y="{HEIGHT / 2}" '
                        f'text-anchor="middle">{escape(reason)}</text>'])
