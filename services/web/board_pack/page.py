"""The board pack as HTML: one template (`board_pack/pack.html`) for the page and the print.

On the web front the template extends the site's layout; printed (the PDF, `qa board-pack`) it
extends `board_pack/print.html`: the app's own CSS, A4 pages, no navigation. The charts are the
dashboards' SVGs (services.web.charts), drawn from the pack's figures.
"""

from datetime import datetime
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from services.web import figures
from services.web.board_pack.contents import BoardPack, sections
from services.web.charts import Words, grade_bars, target_bar
from services.web.figures import Group, MonthGrades, month_label
from services.web.pages import GRADES

TEMPLATE = "board_pack/pack.html"
PRINT_LAYOUT = "board_pack/print.html"
SITE_LAYOUT = "base.html"
EVERY_AUDIT = "the person who produced it may see"


def title(pack: BoardPack) -> str:
    return f"Board pack, {month_label(pack.month)}"


def charts(pack: BoardPack) -> dict[str, Markup]:
    """The grade chart of the trend's months and the month's target bar."""
    rows = [
        MonthGrades(
            row.month,
            row.total or 0,
            {g: row.counts[g] or 0 for g in GRADES},
            {g: row.percentages[g] or 0.0 for g in GRADES},
        )
        for row in pack.county
    ]
    period = f"{month_label(pack.months[0])} to {month_label(pack.month)}"
    grades = Words(
        "pack-grades",
        f"Overall grades by month, whole county, {period}",
        figures.grades_description(rows, Group()),
    )
    target = pack.target
    current = target.working_days_left > 0
    verdict = (
        f"{target.expected_by_now} were expected by now, so the month is "
        f"{'on pace' if target.on_pace else 'behind pace'}."
        if current
        else "the target was met."
        if target.done >= target.target
        else f"the target was missed by {target.target - target.done}."
    )
    target_words = Words(
        "pack-target",
        f"Learning audits in {month_label(pack.month)} against the target of {target.target}",
        f"{target.done} learning audits done in {month_label(pack.month)} against the target "
        f"of {target.target}; {verdict}",
    )
    return {
        "grades": grade_bars(rows, grades),
        "target": target_bar(
            target.done, target.target, target.expected_by_now if current else None, target_words
        ),
    }


def context(
    pack: BoardPack, generated_at: datetime, links: dict[str, str] | None = None
) -> dict[str, Any]:
    """What the template needs; `links` to the PDF and workbook on the web page only."""
    return {
        "title": title(pack),
        "pack": pack,
        "sections": sections(pack),
        "charts": charts(pack),
        "links": links,
        "generated_at": generated_at,
        "scope": EVERY_AUDIT,
        "learning_points": sum(len(row.could_be_better_if) for row in pack.learning),
        "month_label": month_label,
        "figure": figures.figure,
    }


def printable(env: Environment, pack: BoardPack, generated_at: datetime) -> str:
    """The pack as a standalone HTML document, for the PDF and for saving."""
    return env.get_template(TEMPLATE).render(layout=PRINT_LAYOUT, **context(pack, generated_at))
