"""The dashboards' charts, drawn on the server as accessible SVG inlined in the page.

matplotlib's object API (a `Figure` of its own per chart, never pyplot's global figures); text
stays text (`svg.fonttype` none) and a fixed hash salt makes the output the same every time.
Each SVG is an image to assistive technology, named by a `<title>` and described in words by a
`<desc>`; the page's table carries the same figures. Colours pass 4.5:1 on white and every
series is told apart without colour too: grades by hatching and printed shares, lines by marker
and dash. Nothing is loaded from anywhere: no fonts, no scripts, no links.
"""

import io
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
from markupsafe import Markup, escape
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.typing import LineStyleType, RcKeyType

from services.web.figures import MonthGrades, figure
from services.web.pages import GRADES, label

STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "qa-dashboards",
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "DejaVu Sans"],
    "font.size": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#505a5f",
    "text.color": "#0b0c0c",
    "hatch.linewidth": 1.2,
}
INK, GREY = "#0b0c0c", "#505a5f"
GRADE_LOOK = {  # fill and hatch, best to worst
    "outstanding": ("#00703c", ""),
    "good": ("#1d70b8", "//"),
    "requires_improvement": ("#b35c00", ".."),
    "inadequate": ("#d4351c", "xx"),
}
LINE_LOOKS: tuple[tuple[str, str, LineStyleType], ...] = (
    ("#1d70b8", "o", "-"),
    ("#d4351c", "s", "--"),
    ("#00703c", "^", "-."),
    ("#4c2c92", "D", ":"),
    ("#b35c00", "v", (0, (6, 2))),
    (INK, "P", (0, (3, 1, 1, 1))),
)
# matplotlib is not thread-safe and its settings are global: one chart is drawn at a time.
_DRAWING = threading.Lock()


@dataclass(frozen=True)
class Words:
    """What a chart is called: `name` (unique on the page), its title and its description."""

    name: str
    title: str
    description: str


@dataclass(frozen=True)
class Panel:
    """One plot of lines: a value per month for each series, None where there is none."""

    title: str
    lines: Mapping[str, Sequence[float | None]]
    unit: str = ""
    top: float = 100.0
    counts: bool = False  # whole numbers on the axis


def grade_bars(rows: Sequence[MonthGrades], words: Words) -> Markup:
    """100% stacked bars, one per month; a month without audits is an empty outlined bar."""

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        for x, row in enumerate(rows):
            if row.total:
                _stack(ax, x, row)
            else:
                ax.bar(x, 100, width=0.7, fill=False, edgecolor=GREY, linestyle="--")
                ax.text(x, 50, "No audits", rotation=90, ha="center", va="center")
        ax.set_xticks(range(len(rows)), [_bar_name(row) for row in rows], fontsize=9)
        ax.set_ylim(0, 100)
        ax.set_ylabel("Share of audits (%)")
        handles = [
            Patch(facecolor=GRADE_LOOK[g][0], hatch=GRADE_LOOK[g][1], edgecolor="white")
            for g in GRADES
        ]
        fig.legend(handles, [label(g) for g in GRADES], loc="outside right upper")

    return _svg(draw, (max(9.0, 3.0 + 0.8 * len(rows)), 4.8), words)


def target_bar(done: int, target: int, expected: int | None, words: Words) -> Markup:
    """Audits done as a bar against the target line (and the expected-by-now line)."""

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        right = max(done, target) * 1.2 or 1
        ax.barh([0], [done], height=0.5, color=LINE_LOOKS[0][0])
        inside = done > right / 6  # white on the bar when it is long enough, else after it
        _note(ax, (done, 0), f"{done} done", -4 if inside else 4, "white" if inside else INK)
        ax.axvline(target, color=INK, linewidth=2.5)
        _note(ax, (target, 0.5), f"Target {target}", 4)
        if expected is not None:
            ax.axvline(expected, color=GREY, linewidth=2, linestyle="--")
            _note(ax, (expected, -0.5), f"Expected by now {expected}", -4)
        ax.set_xlim(0, right)
        ax.set_ylim(-0.8, 0.8)
        ax.set_yticks([])
        ax.set_xlabel("Audits")

    return _svg(draw, (9.0, 2.4), words)


def line_panels(months: Sequence[str], panels: Sequence[Panel], words: Words) -> Markup:
    """One plot per panel above each other, months along; a month without a figure is a gap."""
    names = sorted({name for panel in panels for name in panel.lines})
    looks = {name: LINE_LOOKS[i % len(LINE_LOOKS)] for i, name in enumerate(names)}

    def draw(fig: Figure) -> None:
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        for ax, panel in zip(axes, panels, strict=True):
            for name, values in panel.lines.items():
                colour, marker, dash = looks[name]
                points = [math.nan if v is None else v for v in values]
                ax.plot(points, color=colour, marker=marker, linestyle=dash, linewidth=2)
            low = min([0.0, *(v for line in panel.lines.values() for v in line if v is not None)])
            ax.set_ylim(low, panel.top * 1.05)
            ax.set_title(panel.title, loc="left", fontsize=11)
            ax.yaxis.set_major_formatter(_with_unit(panel.unit))
            if panel.counts:
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes[-1].set_xticks(range(len(months)), [_short(month) for month in months])
        handles = [
            Line2D([], [], color=c, marker=m, linestyle=d, linewidth=2)
            for c, m, d in looks.values()
        ]
        fig.legend(handles, [label(name) for name in looks], loc="outside right upper")

    return _svg(draw, (max(9.0, 3.0 + 0.8 * len(months)), 2.2 * len(panels) + 0.6), words)


def _stack(ax: Axes, x: int, row: MonthGrades) -> None:
    """Worst grade at the bottom, best on top (the legend's order read downwards)."""
    bottom = 0.0
    for grade in reversed(GRADES):
        share = row.percentages[grade]
        colour, hatch = GRADE_LOOK[grade]
        ax.bar(x, share, bottom=bottom, width=0.7, color=colour, hatch=hatch, edgecolor="white")
        if share >= 6:  # printed on a solid patch of the same colour, so hatching cannot hide it
            box = {"boxstyle": "round,pad=0.15", "facecolor": colour, "edgecolor": "none"}
            middle = bottom + share / 2
            ax.text(
                x,
                middle,
                f"{figure(share)}%",
                ha="center",
                va="center",
                color="white",
                fontsize=9,
                bbox=box,
            )
        bottom += share


def _note(ax: Axes, at: tuple[float, float], text: str, dx: int, colour: str = INK) -> None:
    """Text beside a point, `dx` points to its right (or left when negative), never over it."""
    ha = "left" if dx > 0 else "right"
    ax.annotate(text, at, xytext=(dx, 0), textcoords="offset points", ha=ha, va="center",
                color=colour)  # fmt: skip


def _with_unit(unit: str) -> FuncFormatter:
    return FuncFormatter(lambda value, _: f"{figure(value)}{unit}")


def _bar_name(row: MonthGrades) -> str:
    month, year = _MONTHS[int(row.month[5:7]) - 1], row.month[:4]
    return f"{month}\n{year}\n{row.total} audit{'' if row.total == 1 else 's'}"


def _short(month: str) -> str:
    return f"{_MONTHS[int(month[5:7]) - 1]} {month[:4]}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _svg(draw: Callable[[Figure], None], size: tuple[float, float], words: Words) -> Markup:
    out = io.StringIO()
    with _DRAWING, matplotlib.rc_context(STYLE):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        fig.savefig(
            out, format="svg", metadata=dict.fromkeys(("Date", "Creator", "Format", "Type"))
        )
    return accessible(out.getvalue(), words)


def accessible(svg: str, words: Words) -> Markup:
    """matplotlib's SVG made fit to inline: a role, a title and a description, ids of its own."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.DOTALL)  # a page-wide `*` rule
    prefix = escape(words.name)
    svg = re.sub(r'\bid="', f'id="{prefix}-', svg)
    svg = svg.replace("url(#", f"url(#{prefix}-").replace('href="#', f'href="#{prefix}-')
    root_end = svg.index(">") + 1
    root = svg[: root_end - 1].replace(
        "<svg ",
        f'<svg role="img" aria-labelledby="{prefix}-title {prefix}-desc" focusable="false" ',
        1,
    )
    named = (
        f'<title id="{prefix}-title">{escape(words.title)}</title>'
        f'<desc id="{prefix}-desc">{escape(words.description)}</desc>'
    )
    return Markup(f"{root}>{named}{svg[root_end:]}")  # noqa: S704 - matplotlib's SVG, our words escaped
