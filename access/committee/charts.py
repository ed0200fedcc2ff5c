"""Bar charts as server-rendered SVG (templates/admin/access/bar_chart.html): the geometry is
computed here, from plain figures, and the template draws it. No script and no inline style
(the Content-Security-Policy): the bars' colours are classes of static/tessera-admin.css.

Each chart carries its text alternative (`title` and `description`, the figures in words) and
the page shows the same figures in a table beside it. Pure: no database."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 240
LEFT = 44  # room for the scale's numbers
BOTTOM = 36  # room for the categories' names
TOP = 18  # room for the tallest bar's figure
RIGHT = 8
GAP = 0.25  # of each category's width, between categories


@dataclass(frozen=True)
class Series:
    """One set of bars: its name (in the legend), its class (its colour) and one value per category."""

    name: str
    css: str
    values: list[int | float]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str
    value: str = ""

    @property
    def value_x(self) -> float:
        return round(self.x + self.width / 2, 2)

    @property
    def value_y(self) -> float:
        return round(self.y - 4, 2)


@dataclass(frozen=True)
class Tick:
    y: float
    value: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass
class BarChart:
    """What the template draws: `bars`, the scale's `ticks`, the categories' `labels`, the
    `legend`, and the words that stand for the picture (`title`, `description`)."""

    key: str
    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM
    left: int = LEFT
    right: int = WIDTH - RIGHT
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    legend: list[Series] = field(default_factory=list)
    label_y: float = HEIGHT - BOTTOM + 16


def _scale_top(largest: float) -> int:
    """A round top for the scale: 1, 2 or 5 times a power of ten, at least the largest value."""
    if largest <= 0:
        return 1
    power = 10 ** math.floor(math.log10(largest))
    for step in (1, 2, 5, 10):
        if step * power >= largest:
            return int(step * power) if step * power >= 1 else 1
    return int(10 * power)


def _number(value: float) -> str:
    return f"{value:g}"


def bar_chart(*, key: str, title: str, categories: list[str], series: list[Series]) -> BarChart:
    """Bars for each category, one per series side by side, on a scale from 0; the description
    lists every figure (a screen reader reads it for the picture)."""
    words = []
    for index, category in enumerate(categories):
        if len(series) > 1:
            figures = ", ".join(f"{s.name} {_number(s.values[index])}" for s in series)
            words.append(f"{category}: {figures}")
        else:
            words.append(f"{category} {_number(series[0].values[index])}")
    chart = BarChart(key=key, title=title, description="; ".join(words) + ".")
    if len(series) > 1:
        chart.legend = list(series)
    top = _scale_top(max((v for s in series for v in s.values), default=0))
    plot_height = chart.baseline - TOP
    chart.ticks = [
        Tick(y=chart.baseline - plot_height * fraction, value=_number(top * fraction))
        for fraction in (0, 0.5, 1)
        if fraction == 0 or top * fraction == int(top * fraction)
    ]
    if not categories:
        return chart
    band = (chart.right - chart.left) / len(categories)
    bar_width = band * (1 - GAP) / len(series)
    # Too many categories for every name (five years by month): every n-th one is named.
    every = max(1, math.ceil(len(categories) / 12))
    for index, category in enumerate(categories):
        start = chart.left + band * index + band * GAP / 2
        for position, s in enumerate(series):
            value = s.values[index]
            height = plot_height * value / top
            chart.bars.append(
                Bar(
                    x=round(start + bar_width * position, 2),
                    y=round(chart.baseline - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    css=s.css,
                    value=_number(value) if value else "",
                    label=f"{category}, {s.name}: {_number(value)}"
                    if len(series) > 1
                    else f"{category}: {_number(value)}",
                )
            )
        if index % every == 0:
            chart.labels.append(Label(x=round(start + band * (1 - GAP) / 2, 2), text=category))
    return chart
