"""What the board pack holds for one month, gathered through the APIs as one person.

`gather` asks the audit, moderation and scheduler APIs (which scope every figure to what the
person may see) and shapes their answers into one `BoardPack`; `sections` lays the pack out as
headed sections of tables, the order the page, the PDF and the workbook share. Nothing here reads
the clock: the same month and the same answers give the same pack.
"""

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from services.web.clients.api import ApiError
from services.web.clients.backends import Backends
from services.web.exports import Cell, Table
from services.web.figures import TIMELINESS_COLUMNS, month_add, month_label, months_between
from services.web.pages import GRADES, label
from shared.organisation import Organisation

TREND_MONTHS = 6
"""The month and the five before it."""
DOMAINS = (
    "assessment",
    "planning",
    "visits",
    "voice_of_child",
    "management_oversight",
    "recording",
)


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True)


F = TypeVar("F", bound=Figures)


class GradeRow(Figures):
    """One month's audits of one group (the county or a service area) by overall grade."""

    month: str
    group: str
    total: int | None
    counts: dict[str, int | None]
    percentages: dict[str, float | None]


class DomainRow(GradeRow):
    domain: str


class ThemeTrend(Figures):
    """A theme's audits per month of the trend (oldest first), the month's and the one before."""

    theme: str
    counts: list[int | None]
    count: int | None
    previous: int | None


class AreaThemes(Figures):
    theme: str
    counts: dict[str, int | None]  # service area -> the month's audits with the theme


class Target(Figures):
    month: str
    target: int
    done: int
    remaining: int
    working_days_in_month: int
    working_days_left: int
    expected_by_now: int
    on_pace: bool
    needed_per_working_day: float


class TeamProgramme(Figures):
    team_id: str
    team_name: str
    allocated: int
    submitted: int
    exempted: int
    late: int


class Programme(Figures):
    month: str
    target: int
    allocated: int
    in_progress: int
    submitted: int
    exempted: int
    declined: int
    late: int
    by_team: list[TeamProgramme]


class Consistency(Figures):
    service_area: str
    moderated: int
    agreement_rate: float
    weighted_kappa: float | None
    moderator_worse_share: float
    moderator_better_share: float
    mean_absolute_difference: float


class Timeliness(Figures):
    service_area: str
    followups: int
    conversations_decided: int
    conversations_on_time: int
    conversations_on_time_pct: float | None
    reaudits_done: int
    reaudits_on_time: int
    reaudits_on_time_pct: float | None
    improved: int
    improved_pct: float | None


class Actions(Figures):
    service_area: str
    agreed: int
    done_on_time: int
    done_late: int
    verified: int
    not_achieved: int
    open: int
    overdue: int
    completion_rate: float | None
    verification_rate: float | None


class Learning(Figures):
    audit_id: str
    case_id: str
    service_area: str
    team: str
    overall_grade: str
    themes: list[str]
    could_be_better_if: list[str]


class Outstanding(Figures):
    moderation_id: str
    audit_id: str
    case_id: str
    service_area: str
    team: str
    auditor_grade: str
    moderated_grade: str | None
    moderated_on: str | None  # YYYY-MM-DD
    rationale: str | None


class BoardPack(Figures):
    month: str
    months: list[str]
    """The trend's months, oldest first, ending with `month`."""
    threshold: int
    """Counts below it are hidden in any breakdown narrower than a service area."""
    service_areas: list[str]
    county: list[GradeRow]
    by_service_area: list[GradeRow]
    domains: list[DomainRow]
    themes: list[ThemeTrend]
    themes_by_area: list[AreaThemes]
    target: Target
    programme: Programme | None
    """None: no programme was drawn for the month."""
    consistency: list[Consistency]
    timeliness: list[Timeliness]
    actions: list[Actions]
    learning: list[Learning]
    outstanding: list[Outstanding]

    @property
    def audits(self) -> int | None:
        """The month's audits over the county: the figure the dashboards show."""
        return next(row.total for row in self.county if row.month == self.month)


def gather(services: Backends, month: str, organisation: Organisation) -> BoardPack:
    """The month's pack as the APIs answer the person whose clients `services` are."""
    first = month_add(month, 1 - TREND_MONTHS)
    months = months_between(first, month)
    county = services.audit.monthly_stats(first, month, "county")
    areas = services.audit.monthly_stats(first, month, "service_area")
    teams = {team.id: team.name for team in organisation.teams}
    service_areas = sorted(
        {str(leads.service_area) for leads in organisation.service_areas}
        | {str(row["group"]) for row in areas["grades"]}
    )
    return BoardPack(
        month=month,
        months=months,
        threshold=int(areas.get("threshold", county.get("threshold", 0))),
        service_areas=service_areas,
        county=_grades(county["grades"], months, ["county"]),
        by_service_area=_grades(areas["grades"], months, service_areas),
        domains=_domains(county["domains"], month),
        themes=_theme_trends(county["themes"], months),
        themes_by_area=_themes_by_area(areas["themes"], month, service_areas),
        target=Target.model_validate(services.audit.target(month)),
        programme=_programme(services, month),
        consistency=_by_area(services.moderation.consistency(month, month), month, Consistency),
        timeliness=_by_area(services.scheduler.timeliness(month, month), month, Timeliness),
        actions=_by_area(services.scheduler.action_stats(month, month), month, Actions),
        learning=_learning(services.audit.learning(month), teams),
        outstanding=_outstanding(services.moderation.outstanding(month), teams),
    )


def _grades(
    rows: Sequence[Mapping[str, Any]], months: list[str], groups: list[str]
) -> list[GradeRow]:
    """Every month of every group, in order; one the API left out is zero."""
    found = {(row["month"], row["group"]): row for row in rows}
    return [_grade_row(found.get((m, g)), m, g) for g in groups for m in months]


def _grade_row(row: Mapping[str, Any] | None, month: str, group: str) -> GradeRow:
    if row is None:
        return GradeRow(
            month=month,
            group=group,
            total=0,
            counts=dict.fromkeys(GRADES, 0),
            percentages=dict.fromkeys(GRADES, 0.0),
        )
    return GradeRow(
        month=month,
        group=group,
        total=row["total"],
        counts={g: row["counts"].get(g, 0) for g in GRADES},
        percentages={g: row["percentages"].get(g, 0.0) for g in GRADES},
    )


def _domains(rows: Sequence[Mapping[str, Any]], month: str) -> list[DomainRow]:
    found = {row["domain"]: row for row in rows if row["month"] == month}
    known = [*DOMAINS, *sorted(set(found) - set(DOMAINS))]
    return [
        DomainRow(**_grade_row(found.get(d), month, "county").model_dump(), domain=d) for d in known
    ]


def _theme_trends(rows: Sequence[Mapping[str, Any]], months: list[str]) -> list[ThemeTrend]:
    """Each theme over the months, most frequent in the month first, then by name."""
    counts: dict[str, dict[str, int | None]] = {}
    previous: dict[str, int | None] = {}
    for row in rows:
        counts.setdefault(row["theme"], {})[row["month"]] = row["count"]
        if row["month"] == months[-1]:
            previous[row["theme"]] = row.get("previous")
    trends = [
        ThemeTrend(
            theme=theme,
            counts=[by_month.get(m, 0) for m in months],
            count=by_month.get(months[-1], 0),
            previous=previous.get(theme, by_month.get(months[-2], 0) if len(months) > 1 else None),
        )
        for theme, by_month in counts.items()
    ]
    return sorted(trends, key=lambda t: (-(t.count or 0), -sum(c or 0 for c in t.counts), t.theme))


def _themes_by_area(
    rows: Sequence[Mapping[str, Any]], month: str, service_areas: list[str]
) -> list[AreaThemes]:
    counts: dict[str, dict[str, int | None]] = {}
    for row in rows:
        if row["month"] == month:
            counts.setdefault(row["theme"], {})[row["group"]] = row["count"]
    found = [
        AreaThemes(theme=theme, counts={a: by_area.get(a, 0) for a in service_areas})
        for theme, by_area in counts.items()
        if any(by_area.values())
    ]
    return sorted(found, key=lambda t: (-sum(c or 0 for c in t.counts.values()), t.theme))


def _programme(services: Backends, month: str) -> Programme | None:
    """The month's programme; None when none was drawn (nothing allocated, or no such month)."""
    try:
        figures = services.audit.programme_stats(month)
    except ApiError as refused:
        if refused.status == 404:
            return None
        raise
    if not figures or not figures.get("allocated"):
        return None
    programme = Programme.model_validate(figures)
    teams = sorted(programme.by_team, key=lambda team: (team.team_name, team.team_id))
    return programme.model_copy(update={"by_team": teams})


def _by_area(rows: Sequence[Mapping[str, Any]], month: str, model: type[F]) -> list[F]:
    found = [model.model_validate(row) for row in rows if row.get("month", month) == month]
    return sorted(found, key=lambda row: str(getattr(row, "service_area", "")))


def _learning(rows: Sequence[Mapping[str, Any]], teams: Mapping[str, str]) -> list[Learning]:
    found = [
        Learning(
            audit_id=row["audit_id"],
            case_id=row["case_id"],
            service_area=row["service_area"],
            team=teams.get(row["team_id"], row["team_id"]),
            overall_grade=row["overall_grade"],
            themes=sorted(row.get("themes") or ()),
            could_be_better_if=list(row.get("could_be_better_if") or ()),
        )
        for row in rows
    ]
    return sorted(found, key=lambda r: (r.service_area, r.team, r.case_id, r.audit_id))


def _outstanding(rows: Sequence[Mapping[str, Any]], teams: Mapping[str, str]) -> list[Outstanding]:
    found = [
        Outstanding(
            moderation_id=row["id"],
            audit_id=row["audit_id"],
            case_id=row["case_id"],
            service_area=row["service_area"],
            team=teams.get(row["team_id"], row["team_id"]),
            auditor_grade=row["auditor_grade"],
            moderated_grade=row.get("moderated_grade"),
            moderated_on=str(row["moderated_at"])[:10] if row.get("moderated_at") else None,
            rationale=row.get("rationale"),
        )
        for row in rows
    ]
    return sorted(found, key=lambda r: (r.moderated_on or "", r.case_id, r.moderation_id))


# --- the pack laid out: headed sections of tables ---------------------------------------------


class Section(Figures):
    """A part of the pack: its heading, what it shows, a chart's name, and its tables."""

    id: str
    heading: str
    intro: str
    chart: str | None = None  # "grades" or "target": drawn by `page`
    tables: list[Table] = []
    empty: str | None = None  # said instead of the tables when there is nothing to show


def sections(pack: BoardPack) -> list[Section]:
    name = month_label(pack.month)
    trend = f"{month_label(pack.months[0])} to {name}"
    return [
        Section(
            id="grades",
            heading="Grades",
            intro=f"The overall grade of each audit, {trend}: the whole county, then each "
            "service area. Percentages are of the month's audits.",
            chart="grades",
            tables=[
                _grade_table(f"Overall grades by month, whole county, {trend}", pack.county),
                _grade_table(
                    f"Overall grades by month and service area, {trend}",
                    pack.by_service_area,
                    by_area=True,
                ),
            ],
        ),
        Section(
            id="domains",
            heading="Grades by domain",
            intro=f"How each part of practice was graded in the audits of {name}.",
            tables=[_domain_table(f"Grades by domain, whole county, {name}", pack.domains)],
        ),
        Section(
            id="target",
            heading="Target and pace",
            intro=f"Learning audits done in {name} against the month's target.",
            chart="target",
            tables=[_target_table(f"Audits against the target, {name}", pack.target)],
        ),
        _programme_section(pack),
        Section(
            id="consistency",
            heading="Moderation consistency",
            intro="How often moderators agreed with auditors' grades in the month's "
            "moderations, by service area.",
            tables=[_consistency_table(f"Moderation consistency, {name}", pack.consistency)],
        ),
        Section(
            id="timeliness",
            heading="Follow-up and action timeliness",
            intro="Follow-ups of the month's inadequate audits and the actions agreed, by "
            "service area.",
            tables=[
                _timeliness_table(f"Follow-up timeliness, {name}", pack.timeliness),
                _actions_table(f"Action timeliness, {name}", pack.actions),
            ],
        ),
        Section(
            id="themes",
            heading="Themes",
            intro=f"How many audits carried each theme, per month from {trend}, with the change "
            f"from the month before; then {name} by service area.",
            tables=[
                _themes_table(f"Themes by month, whole county, {trend}", pack),
                _area_themes_table(f"Themes by service area, {name}", pack),
            ],
        ),
        Section(
            id="learning",
            heading="Learning",
            intro=f"What could be better, in the auditors' words, from the learning audits of "
            f"{name}: one row per learning point.",
            tables=[_learning_table(f"Learning points, {name}", pack.learning)],
            empty=None if pack.learning else f"No learning audits were recorded in {name}.",
        ),
        Section(
            id="outstanding",
            heading="Outstanding practice",
            intro=f"Audits whose moderators flagged outstanding practice in {name}.",
            tables=[_outstanding_table(f"Outstanding practice, {name}", pack.outstanding)],
            empty=None
            if pack.outstanding
            else f"No moderator flagged outstanding practice in {name}.",
        ),
    ]


def tables(pack: BoardPack) -> list[Table]:
    """Every table of the pack, in the pack's order: the workbook's sheets."""
    return [table for section in sections(pack) for table in section.tables]


def _grade_table(title: str, rows: Sequence[GradeRow], by_area: bool = False) -> Table:
    columns = ["Month", *(["Service area"] if by_area else []), "Audits"]
    columns += [f"{label(g)} (number)" for g in GRADES] + [f"{label(g)} (%)" for g in GRADES]
    body = [
        (
            month_label(row.month),
            *([label(row.group)] if by_area else []),
            row.total,
            *(row.counts[g] for g in GRADES),
            *(row.percentages[g] if row.total else None for g in GRADES),
        )
        for row in rows
    ]
    return Table(title, tuple(columns), tuple(body))


def _domain_table(title: str, rows: Sequence[DomainRow]) -> Table:
    columns = ("Domain", "Audits", *(f"{label(g)} (number)" for g in GRADES))
    columns += tuple(f"{label(g)} (%)" for g in GRADES)
    body = tuple(
        (
            label(row.domain),
            row.total,
            *(row.counts[g] for g in GRADES),
            *(row.percentages[g] if row.total else None for g in GRADES),
        )
        for row in rows
    )
    return Table(title, columns, body)


def _target_table(title: str, target: Target) -> Table:
    rows: list[tuple[Cell, Cell]] = [
        ("Target", target.target),
        ("Done", target.done),
        ("Remaining", target.remaining),
        ("Working days in the month", target.working_days_in_month),
        ("Working days left", target.working_days_left),
        ("Expected by now", target.expected_by_now),
        ("On pace", "Yes" if target.on_pace else "No"),
        ("Needed per working day", target.needed_per_working_day),
    ]
    return Table(title, ("Measure", "Value"), tuple(rows))


def _programme_section(pack: BoardPack) -> Section:
    name = month_label(pack.month)
    programme = pack.programme
    if programme is None:
        return Section(
            id="programme",
            heading="The audit programme",
            intro=f"The cases drawn for audit in {name}.",
            empty=f"No audit programme was drawn for {name}.",
        )
    summary: tuple[tuple[Cell, ...], ...] = (
        ("Target", programme.target),
        ("Allocated", programme.allocated),
        ("In progress", programme.in_progress),
        ("Submitted", programme.submitted),
        ("Exempted", programme.exempted),
        ("Declined", programme.declined),
        ("Late", programme.late),
    )
    teams = tuple(
        (team.team_name, team.allocated, team.submitted, team.exempted, team.late)
        for team in programme.by_team
    )
    return Section(
        id="programme",
        heading="The audit programme",
        intro=f"The cases drawn for audit in {name} and how far their audits have got.",
        tables=[
            Table(f"The audit programme, {name}", ("Measure", "Value"), summary),
            Table(
                f"The audit programme by team, {name}",
                ("Team", "Allocated", "Submitted", "Exempted", "Late"),
                teams,
            ),
        ],
    )


def _pct(rate: float | None) -> float | None:
    return None if rate is None else round(100 * rate, 1)


def _consistency_table(title: str, rows: Sequence[Consistency]) -> Table:
    columns = (
        "Service area", "Moderated", "Agreement (%)", "Weighted kappa",
        "Moderator graded worse (%)", "Moderator graded better (%)", "Mean absolute difference",
    )  # fmt: skip
    body = tuple(
        (
            label(row.service_area),
            row.moderated,
            _pct(row.agreement_rate) if row.moderated else None,
            row.weighted_kappa,
            _pct(row.moderator_worse_share) if row.moderated else None,
            _pct(row.moderator_better_share) if row.moderated else None,
            row.mean_absolute_difference if row.moderated else None,
        )
        for row in rows
    )
    return Table(title, columns, body)


def _timeliness_table(title: str, rows: Sequence[Timeliness]) -> Table:
    columns = ("Service area", *TIMELINESS_COLUMNS.values())
    body = tuple(
        (label(row.service_area), *(getattr(row, name) for name in TIMELINESS_COLUMNS))
        for row in rows
    )
    return Table(title, columns, body)


def _actions_table(title: str, rows: Sequence[Actions]) -> Table:
    columns = (
        "Service area", "Agreed", "Done on time", "Done late", "Verified", "Not achieved",
        "Open", "Overdue", "Completed (%)", "Verified at re-audit (%)",
    )  # fmt: skip
    body = tuple(
        (
            label(row.service_area),
            row.agreed,
            row.done_on_time,
            row.done_late,
            row.verified,
            row.not_achieved,
            row.open,
            row.overdue,
            _pct(row.completion_rate),
            _pct(row.verification_rate),
        )
        for row in rows
    )
    return Table(title, columns, body)


def _themes_table(title: str, pack: BoardPack) -> Table:
    columns = ("Theme", *(month_label(m) for m in pack.months), "Change from the month before")
    body = tuple((label(t.theme), *t.counts, _change(t.count, t.previous)) for t in pack.themes)
    return Table(title, columns, body)


def _change(count: int | None, previous: int | None) -> int | None:
    return None if count is None or previous is None else count - previous


def _area_themes_table(title: str, pack: BoardPack) -> Table:
    columns = ("Theme", *(label(a) for a in pack.service_areas))
    body = tuple(
        (label(t.theme), *(t.counts[a] for a in pack.service_areas)) for t in pack.themes_by_area
    )
    return Table(title, columns, body)


def _learning_table(title: str, rows: Sequence[Learning]) -> Table:
    columns = ("Case", "Service area", "Team", "Overall grade", "Themes", "Could be better if")
    body: list[tuple[Cell, ...]] = []
    for row in rows:
        themes = ", ".join(label(theme) for theme in row.themes)
        points: list[str | None] = [*row.could_be_better_if] or [None]
        for point in points:
            body.append(
                (row.case_id, label(row.service_area), row.team, label(row.overall_grade),
                 themes, point)
            )  # fmt: skip
    return Table(title, columns, tuple(body))


def _outstanding_table(title: str, rows: Sequence[Outstanding]) -> Table:
    columns = (
        "Case", "Service area", "Team", "Auditor's grade", "Moderated grade", "Moderated on",
        "Moderator's rationale",
    )  # fmt: skip
    body = tuple(
        (
            row.case_id,
            label(row.service_area),
            row.team,
            label(row.auditor_grade),
            label(row.moderated_grade) if row.moderated_grade else None,
            row.moderated_on,
            row.rationale,
        )
        for row in rows
    )
    return Table(title, columns, body)
