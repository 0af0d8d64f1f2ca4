"""Figures a board can read: every month and every group shown (zeros included), grades by
domain as well as overall, themes counted with their trend, and small numbers hidden.

Hiding: in any breakdown narrower than a service area (an area or a team), a count above zero
and below the threshold is not shown, since a cell of one audit in a team names a worker. The
county and service area figures are shown whole. Zeros are shown: they say nobody was graded so.

Pure functions over the counts the database hands in (`*_from_counts`), or over audits one by
one, tallied here the same way (what the database's counts must equal), so every figure is
tested by hand.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel

from services.audit.stats import GradeCount, GradeTallies, Grouping, tallies_of
from shared.calendar import uk_month
from shared.events.vocabulary import AuditDomain, Grade
from shared.organisation import Organisation


@dataclass(frozen=True)
class AuditFacts:
    """One audit as the monthly figures see it."""

    graded_at: datetime
    overall_grade: Grade
    domain_grades: Mapping[AuditDomain, Grade]
    themes: tuple[str, ...]
    team_id: str
    service_area: str
    area: str

    @property
    def month(self) -> str:
        return uk_month(self.graded_at)

    def group(self, by: Grouping) -> str:
        return {
            Grouping.COUNTY: "county",
            Grouping.SERVICE_AREA: self.service_area,
            Grouping.AREA: self.area,
            Grouping.TEAM: self.team_id,
        }[by]


@dataclass(frozen=True)
class Suppression:
    threshold: int
    """Counts from 1 to threshold - 1 are hidden below a service area; 1 hides nothing."""

    def shown(self, count: int, by: Grouping) -> int | None:
        narrow = by in (Grouping.AREA, Grouping.TEAM)
        return None if narrow and 0 < count < self.threshold else count


def months_between(first: date, last: date) -> list[str]:
    """Every month from `first`'s to `last`'s, as YYYY-MM."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def groups_of(organisation: Organisation, by: Grouping) -> list[str]:
    """Every group of the organisation for `by`, so that a group with no audits still shows."""
    if by is Grouping.COUNTY:
        return ["county"]
    if by is Grouping.SERVICE_AREA:
        return sorted(leads.service_area.value for leads in organisation.service_areas)
    if by is Grouping.AREA:
        return sorted({team.area for team in organisation.teams})
    return sorted(team.id for team in organisation.teams)


class GradeCounts(BaseModel):
    """Audits of one month and group by grade; `None` where a count is hidden."""

    month: str
    group: str
    total: int | None
    counts: dict[Grade, int | None]
    percentages: dict[Grade, float | None]
    suppressed: bool


class DomainGrades(GradeCounts):
    domain: AuditDomain


class ThemeCount(BaseModel):
    month: str
    group: str
    theme: str
    count: int | None
    previous: int | None
    """The same theme and group a month before (None for the first month, or hidden)."""
    suppressed: bool


def _counts(
    month: str, group: str, tally: Counter[Grade], by: Grouping, hide: Suppression
) -> dict[str, object]:
    total = sum(tally.values())
    shown = {grade: hide.shown(tally[grade], by) for grade in Grade}
    shown_total = hide.shown(total, by)
    percentages = {
        grade: None if count is None or not total else round(100 * count / total, 1)
        for grade, count in shown.items()
    }
    hidden = shown_total is None or any(count is None for count in shown.values())
    return {
        "month": month,
        "group": group,
        "total": shown_total,
        "counts": shown,
        "percentages": percentages,
        "suppressed": hidden,
    }


def _tally(facts: Iterable[AuditFacts], by: Grouping, grade_of: "GradeOf") -> GradeTallies:
    tallies: GradeTallies = {}
    for fact in facts:
        if (grade := grade_of(fact)) is not None:
            tallies.setdefault((fact.month, fact.group(by)), Counter())[grade] += 1
    return tallies


class GradeOf:
    """Which grade of an audit is counted: the overall one, or one domain's."""

    def __init__(self, domain: AuditDomain | None = None) -> None:
        self.domain = domain

    def __call__(self, fact: AuditFacts) -> Grade | None:
        if self.domain is None:
            return fact.overall_grade
        return fact.domain_grades.get(self.domain)


@dataclass(frozen=True)
class DomainGradeCount:
    """How many audits of a UK month and group graded one domain `grade`."""

    domain: AuditDomain
    month: str
    group: str
    grade: Grade
    count: int


@dataclass(frozen=True)
class ThemeTally:
    """How many audits of a UK month and group were tagged with `theme` (each audit once)."""

    month: str
    group: str
    theme: str
    audits: int


DomainTallies = dict[AuditDomain, GradeTallies]
ThemeTallies = Counter[tuple[str, str, str]]
"""Audits tagged, by (UK month, group, theme)."""


def domain_tallies_of(counts: Iterable[DomainGradeCount]) -> DomainTallies:
    by_domain: dict[AuditDomain, list[GradeCount]] = defaultdict(list)
    for c in counts:
        by_domain[c.domain].append(GradeCount(c.month, c.group, c.grade, c.count))
    return {domain: tallies_of(rows) for domain, rows in by_domain.items()}


def theme_tallies_of(counts: Iterable[ThemeTally]) -> ThemeTallies:
    tally: ThemeTallies = Counter()
    for c in counts:
        tally[(c.month, c.group, c.theme)] += c.audits
    return tally


def grades_by_month(
    facts: Iterable[AuditFacts],
    months: Sequence[str],
    groups: Sequence[str],
    by: Grouping,
    hide: Suppression,
) -> list[GradeCounts]:
    """Overall grades for every month and group, zero-filled."""
    return grades_from_counts(_tally(facts, by, GradeOf()), months, groups, by, hide)


def grades_from_counts(
    tallies: GradeTallies,
    months: Sequence[str],
    groups: Sequence[str],
    by: Grouping,
    hide: Suppression,
) -> list[GradeCounts]:
    """Overall grades for every month and group, zero-filled, from the audits' counts."""
    return [
        GradeCounts.model_validate(_counts(m, g, tallies.get((m, g), Counter()), by, hide))
        for m in months
        for g in groups
    ]


def domains_by_month(
    facts: Iterable[AuditFacts],
    months: Sequence[str],
    groups: Sequence[str],
    by: Grouping,
    hide: Suppression,
) -> list[DomainGrades]:
    """Each domain's grades for every month and group, zero-filled."""
    facts = list(facts)
    tallies = {domain: _tally(facts, by, GradeOf(domain)) for domain in AuditDomain}
    return domains_from_counts(tallies, months, groups, by, hide)


def domains_from_counts(
    tallies: DomainTallies,
    months: Sequence[str],
    groups: Sequence[str],
    by: Grouping,
    hide: Suppression,
) -> list[DomainGrades]:
    """Each domain's grades for every month and group, zero-filled, from the audits' counts."""
    rows = []
    for domain in AuditDomain:
        domain_tallies = tallies.get(domain, {})
        for m in months:
            for g in groups:
                counts = _counts(m, g, domain_tallies.get((m, g), Counter()), by, hide)
                rows.append(DomainGrades.model_validate(counts | {"domain": domain}))
    return rows


def themes_by_month(
    facts: Iterable[AuditFacts],
    months: Sequence[str],
    groups: Sequence[str],
    by: Grouping,
    hide: Suppression,
) -> list[ThemeCount]:
    """How many audits of each month and group were tagged with each theme seen in the span,
    with the month before's count for the trend."""
    tally: ThemeTallies = Counter()
    for fact in facts:
        for theme in set(fact.themes):
            tally[(fact.month, fact.group(by), theme)] += 1
    return themes_from_counts(tally, months, groups, by, hide)


def themes_from_counts(
    tally: ThemeTallies,
    months: Sequence[str],
    groups: Sequence[str],
    by: Grouping,
    hide: Suppression,
) -> list[ThemeCount]:
    """`themes_by_month` from the audits' counts: every theme seen in the tallies (of every
    group, the month before included), for every month and group, with the month before's
    count."""
    themes = sorted({theme for (_m, _g, theme) in tally})
    rows = []
    for theme in themes:
        for g in groups:
            before: int | None = None
            for m in months:
                count = hide.shown(tally[(m, g, theme)], by)
                rows.append(
                    ThemeCount(
                        month=m,
                        group=g,
                        theme=theme,
                        count=count,
                        previous=before,
                        suppressed=count is None,
                    )
                )
                before = count
    return sorted(rows, key=lambda r: (r.month, r.group, r.theme))
