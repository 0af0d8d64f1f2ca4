"""Dashboards: the council report's charts over the statistics APIs, each with its table, and
that table as CSV and Excel (one `exports.Table` each, so both files hold the same cells).

Figures are shaped in `figures` and drawn in `charts`; a route asks the APIs as the signed-in
person, so a dashboard counts what the APIs let that person see.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from services.web import figures
from services.web.charts import Panel, Words, grade_bars, line_panels, target_bar
from services.web.clients.backends import Backends, Services
from services.web.exports import Table
from services.web.figures import Group, Period, Row, month_label
from services.web.pages import GRADES, label, render
from services.web.session import Person
from shared.calendar import uk_day
from shared.clock import Clock, SystemClock
from shared.organisation import Organisation

router = APIRouter(prefix="/dashboards")
AUDITS_PAGE = 500  # the audit API's largest page
THEMES_CHARTED = 6
PAST_MONTHS = 12


@dataclass(frozen=True)
class MonthsAsked:
    from_month: str | None = None
    to_month: str | None = None


@dataclass(frozen=True)
class GradesAsked(MonthsAsked):
    service_area: str | None = None
    area: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class Chosen:
    """A dashboard's filter form: what was asked, what it means, and its errors."""

    asked: MonthsAsked
    period: Period
    group: Group
    errors: dict[str, str]
    this_month: str


Months = Annotated[MonthsAsked, Depends()]
Grades = Annotated[GradesAsked, Depends()]


@router.get("")
def index(request: Request, _person: Person) -> Response:
    return render(request, "dashboards/index.html", title="Dashboards")


@router.get("/grades")
def grades(request: Request, _person: Person, services: Services, asked: Grades) -> Response:
    chosen = _choose(request, asked)
    if chosen.errors:
        return _page(request, "grades", chosen)
    rows = _grade_rows(services, chosen)
    words = Words(
        "grades",
        f"Overall grades by month, {chosen.group.name}, {chosen.period.name}",
        figures.grades_description(rows, chosen.group),
    )
    return _page(request, "grades", chosen, rows=rows, chart=grade_bars(rows, words))


@router.get("/grades.{kind}")
def grades_download(
    request: Request, _person: Person, services: Services, asked: Grades, kind: figures.Kind
) -> Response:
    chosen = _chosen_or_refused(request, asked)
    group = chosen.group
    name = "grades" if group.by == "county" else f"grades-{group.key}"
    table = figures.grades_table(_grade_rows(services, chosen), group)
    return _download(kind, name, chosen.period, table)


@router.get("/target")
def target(
    request: Request, _person: Person, services: Services, month: str | None = None
) -> Response:
    now = services.audit.target()
    offered = [figures.month_add(now["month"], -back) for back in range(1, PAST_MONTHS + 1)]
    past = month or offered[0]
    page: dict[str, Any] = {
        "title": TITLES["target"],
        "now": now,
        "past": past,
        "month_items": _month_items(offered, past),
        "chart": target_bar(now["done"], now["target"], now["expected_by_now"], _target_words(now)),
        **HELPERS,
    }
    if past not in offered:
        errors = {"month": "Choose a month from the list"}
        return render(request, "dashboards/target.html", 422, **page, **_errors(errors))
    done = figures.month_total(services.audit.grade_stats(past, past, "county"), past)
    past_chart = target_bar(done, now["target"], None, _past_words(past, done, now["target"]))
    return render(request, "dashboards/target.html", **page, past_done=done, past_chart=past_chart)


@router.get("/consistency")
def consistency(request: Request, _person: Person, services: Services, asked: Months) -> Response:
    chosen = _choose(request, asked)
    if chosen.errors:
        return _page(request, "consistency", chosen)
    rows = services.moderation.consistency(chosen.period.first, chosen.period.last)
    title = f"Moderation consistency by service area, {chosen.period.name}"
    intro = (
        "How often moderators agreed with auditors' grades, the weighted kappa and the "
        f"direction of disagreements, by service area, per month from {chosen.period.name}."
    )
    panels = _consistency_panels(rows, chosen.period.months)
    return _lines_page(request, "consistency", chosen, rows, panels, (title, intro))


@router.get("/consistency.{kind}")
def consistency_download(
    request: Request, _person: Person, services: Services, asked: Months, kind: figures.Kind
) -> Response:
    chosen = _chosen_or_refused(request, asked)
    rows = services.moderation.consistency(chosen.period.first, chosen.period.last)
    table = figures.consistency_table(figures.by_month(rows, chosen.period.months))
    return _download(kind, "consistency", chosen.period, table)


@router.get("/timeliness")
def timeliness(request: Request, _person: Person, services: Services, asked: Months) -> Response:
    chosen = _choose(request, asked)
    if chosen.errors:
        return _page(request, "timeliness", chosen)
    rows = services.scheduler.timeliness(chosen.period.first, chosen.period.last)
    title = f"Follow-up timeliness by service area, {chosen.period.name}"
    intro = (
        "Follow-ups of inadequate audits by month of grading and service area, from "
        f"{chosen.period.name}: reflective conversations held within 5 working days, "
        "re-audits on time and practice improved at re-audit."
    )
    panels = _timeliness_panels(rows, chosen.period.months)
    return _lines_page(request, "timeliness", chosen, rows, panels, (title, intro))


def _lines_page(
    request: Request, name: str, chosen: Chosen, rows: Any, panels: Any, about: tuple[str, str]
) -> Response:
    """A dashboard of line panels by service area, with its table beneath; `about` is the
    chart's title and the opening of its description."""
    months = chosen.period.months
    title, intro = about
    words = Words(name, title, _lines_description(intro, panels, months))
    chart = line_panels(months, panels, words)
    return _page(request, name, chosen, months=figures.by_month(rows, months), chart=chart)


@router.get("/timeliness.{kind}")
def timeliness_download(
    request: Request, _person: Person, services: Services, asked: Months, kind: figures.Kind
) -> Response:
    chosen = _chosen_or_refused(request, asked)
    rows = services.scheduler.timeliness(chosen.period.first, chosen.period.last)
    table = figures.timeliness_table(figures.by_month(rows, chosen.period.months))
    return _download(kind, "timeliness", chosen.period, table)


@router.get("/themes")
def themes(request: Request, _person: Person, services: Services, asked: Months) -> Response:
    chosen = _choose(request, asked)
    if chosen.errors:
        return _page(request, "themes", chosen)
    table = _theme_table(services, chosen.period)
    charted = table.rows[:THEMES_CHARTED]
    top = max([1, *(count for row in charted for count in row.counts)])
    lines: dict[str, list[float | None]] = {row.theme: list(row.counts) for row in charted}
    panel = Panel("Audits with the theme", lines, top=top, counts=True)
    seen = ", ".join(
        f"{month_label(m)} {n}" for m, n in zip(table.months, table.audits, strict=True)
    )
    words = Words(
        "themes",
        f"Themes per month, {chosen.period.name}",
        _lines_description(
            f"How many of the audits you may see carried each of the {len(charted)} most "
            f"frequent themes, per month from {chosen.period.name}. Audits seen: {seen}.",
            [panel],
            table.months,
        ),
    )
    chart = line_panels(table.months, [panel], words)
    return _page(request, "themes", chosen, table=table, chart=chart)


@router.get("/themes.{kind}")
def themes_download(
    request: Request, _person: Person, services: Services, asked: Months, kind: figures.Kind
) -> Response:
    chosen = _chosen_or_refused(request, asked)
    table = figures.themes_table(_theme_table(services, chosen.period))
    return _download(kind, "themes", chosen.period, table)


TITLES = {
    "grades": "Grades by month",
    "target": "Audits against the target",
    "consistency": "Moderation consistency",
    "timeliness": "Follow-up timeliness",
    "themes": "Themes per month",
}


def _choose(request: Request, asked: MonthsAsked) -> Chosen:
    clock: Clock = getattr(request.app.state, "clock", None) or SystemClock()
    this_month = figures.month_of(uk_day(clock.now()))
    period, errors = figures.choose_period(asked.from_month, asked.to_month, this_month)
    group = Group()
    if isinstance(asked, GradesAsked):
        group, group_errors = figures.choose_group(vars(asked), _group_options(request))
        errors |= group_errors
    return Chosen(asked, period, group, errors, this_month)


def _chosen_or_refused(request: Request, asked: MonthsAsked) -> Chosen:
    chosen = _choose(request, asked)
    if chosen.errors:
        raise HTTPException(422, " ".join(chosen.errors.values()))
    return chosen


def _group_options(request: Request) -> dict[str, dict[str, str]]:
    organisation: Organisation = request.app.state.organisation
    teams = sorted(organisation.teams, key=lambda team: team.name)
    areas = sorted({team.area for team in teams})
    service_areas = [str(leads.service_area) for leads in organisation.service_areas]
    return {
        "service_area": {service_area: label(service_area) for service_area in service_areas},
        "area": {area: label(area) for area in areas},
        "team": {team.id: team.name for team in teams},
    }


def _grade_rows(services: Backends, chosen: Chosen) -> list[figures.MonthGrades]:
    period, group = chosen.period, chosen.group
    buckets = services.audit.grade_stats(period.first, period.last, group.by)
    return figures.grades_by_month(buckets, period.months, group.key)


def _consistency_panels(rows: Sequence[Row], months: list[str]) -> list[Panel]:
    def line(measure: str, scale: float = 100) -> dict[str, list[float | None]]:
        return figures.series(rows, months, measure, scale)

    return [
        Panel("Agreement rate (%)", line("agreement_rate"), "%"),
        Panel("Weighted kappa", line("weighted_kappa", 1), top=1.0),
        Panel("Moderator graded worse (%)", line("moderator_worse_share"), "%"),
        Panel("Moderator graded better (%)", line("moderator_better_share"), "%"),
    ]


def _timeliness_panels(rows: Sequence[Row], months: list[str]) -> list[Panel]:
    def line(measure: str) -> dict[str, list[float | None]]:
        return figures.series(rows, months, measure)

    return [
        Panel("Conversations within 5 working days (%)", line("conversations_on_time_pct"), "%"),
        Panel("Re-audits on time (%)", line("reaudits_on_time_pct"), "%"),
        Panel("Improved at re-audit (%)", line("improved_pct"), "%"),
    ]


def _theme_table(services: Backends, period: Period) -> figures.ThemeTable:
    return figures.theme_table({m: _audits_in(services, m) for m in period.months}, period.months)


def _audits_in(services: Backends, month: str) -> list[dict[str, Any]]:
    """Every audit of the month the person may list, a page at a time."""
    found: list[dict[str, Any]] = []
    while True:
        page = services.audit.audits(month=month, limit=AUDITS_PAGE, offset=len(found))
        found += page
        if len(page) < AUDITS_PAGE:
            return found


def _lines_description(opening: str, panels: list[Panel], months: list[str]) -> str:
    latest = [
        f"{panel.title}: {figures.latest_words(panel.lines, months, panel.unit)}"
        for panel in panels
    ]
    return " ".join([opening, *latest, "A month without a figure is a gap in its line."])


def _target_words(now: dict[str, Any]) -> Words:
    month, target = month_label(now["month"]), now["target"]
    pace = "on pace" if now["on_pace"] else "behind pace"
    return Words(
        "target-now",
        f"Learning audits in {month} against the target of {target}",
        f"{now['done']} learning audits done in {month} against the target of {target}; "
        f"{now['expected_by_now']} were expected by now, so the month is {pace}. "
        f"{figures.figure(now['needed_per_working_day'])} audits are needed per working day "
        f"for the {now['working_days_left']} working days left.",
    )


def _past_words(month: str, done: int, target: int) -> Words:
    verdict = "met" if done >= target else f"missed by {target - done}"
    return Words(
        "target-month",
        f"Audits in {month_label(month)} against the target of {target}",
        f"{done} audits were graded in {month_label(month)} against the target of {target}: "
        f"the target was {verdict}.",
    )


def _page(request: Request, name: str, chosen: Chosen, **context: Any) -> Response:
    """A dashboard with its filter form: the months offered, the groups, the asked selected."""
    query, asked, period = request.url.query, chosen.asked, chosen.period
    offered = figures.months_offered(chosen.this_month)[::-1]
    groups = {}
    if isinstance(asked, GradesAsked):
        groups = {
            field: [{"value": "", "text": "All"}, *_items(options, vars(asked)[field])]
            for field, options in _group_options(request).items()
        }
    return render(
        request,
        f"dashboards/{name}.html",
        422 if chosen.errors else 200,
        title=TITLES[name],
        chosen=chosen,
        from_items=_month_items(offered, asked.from_month or period.first),
        to_items=_month_items(offered, asked.to_month or period.last),
        group_items=groups,
        csv_link=f"/dashboards/{name}.csv" + (f"?{query}" if query else ""),
        xlsx_link=f"/dashboards/{name}.xlsx" + (f"?{query}" if query else ""),
        **_errors(chosen.errors),
        **HELPERS,
        **context,
    )


HELPERS = {
    "month_label": month_label,
    "figure": figures.figure,
    "share": figures.share,
    "grades": GRADES,
}


def _errors(errors: dict[str, str]) -> dict[str, Any]:
    listed = [{"text": message, "href": f"#{field}"} for field, message in errors.items()]
    return {"errors": errors, "error_list": listed}


def _month_items(months: Sequence[str], selected: str | None) -> list[dict[str, Any]]:
    return _items({month: month_label(month) for month in months}, selected)


def _items(options: dict[str, str], selected: str | None) -> list[dict[str, Any]]:
    return [{"value": v, "text": text, "selected": v == selected} for v, text in options.items()]


def _download(kind: figures.Kind, name: str, period: Period, table: Table) -> Response:
    """The dashboard's table, the same cells as CSV or as an Excel workbook."""
    titled = Table(f"{table.title}, {period.name}", table.columns, table.rows)
    return figures.download(kind, titled, f"{name}-{period.first}-to-{period.last}")
