"""Agreed actions' completion and verification rates by month and service area: a table and a
chart, for the months chosen as on the dashboards."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from services.web import figures
from services.web.charts import Panel, Words, line_panels
from services.web.clients.backends import Services
from services.web.pages import render
from services.web.session import Person
from shared.calendar import uk_day
from shared.clock import Clock, SystemClock

router = APIRouter()


@router.get("/actions/rates")
def action_rates(
    request: Request,
    _person: Person,
    services: Services,
    from_month: str | None = None,
    to_month: str | None = None,
) -> Response:
    clock: Clock = getattr(request.app.state, "clock", None) or SystemClock()
    this_month = figures.month_of(uk_day(clock.now()))
    period, errors = figures.choose_period(from_month, to_month, this_month)
    offered_months = figures.months_offered(this_month)[::-1]
    page: dict[str, Any] = {
        "title": "Action completion and verification",
        "from_items": _month_items(offered_months, from_month or period.first),
        "to_items": _month_items(offered_months, to_month or period.last),
        "group_items": {},
        "errors": errors,
        "error_list": [{"text": m, "href": f"#{f}"} for f, m in errors.items()],
        "month_label": figures.month_label,
        "figure": figures.figure,
        "period": period,
    }
    if errors:
        return render(request, "actions/rates.html", 422, **page)
    rows = services.scheduler.action_stats(period.first, period.last)
    months = figures.by_month(rows, period.months)
    return render(
        request, "actions/rates.html", **page, months=months, chart=_rates_chart(rows, period)
    )


def _rates_chart(rows: list[dict[str, Any]], period: figures.Period) -> Markup:
    """Completion and verification rates, a line per service area, a panel each."""
    months = period.months
    panels = [
        Panel(title, figures.series(rows, months, measure, 100), "%")
        for title, measure in (
            ("Completion rate (%)", "completion_rate"),
            ("Verification rate (%)", "verification_rate"),
        )
    ]
    latest = " ".join(
        f"{panel.title}: {figures.latest_words(panel.lines, months, panel.unit)}"
        for panel in panels
    )
    words = Words(
        "action-rates",
        f"Agreed actions completed and verified, by service area, {period.name}",
        f"Of the actions agreed each month from {period.name} and not cancelled, the share done "
        f"(on time or late); of those checked at re-audit, the share verified; by service area. "
        f"{latest} A month without a figure is a gap in its line.",
    )
    return line_panels(months, panels, words)


def _month_items(months: list[str], selected: str) -> list[dict[str, Any]]:
    return [{"value": m, "text": figures.month_label(m), "selected": m == selected} for m in months]
