"""The counts behind /stats/monthly, over the audits the caller may see, read from the monthly
counts (services.audit.month_counts) wherever those say exactly that.

`shared.visibility` lets a caller see every audit (the QA lead, admins), or their service
areas' audits and those that name them. So the audits they may see are split in two: those of
the areas they see whole, read from the counts (a few hundred rows, however many audits), and
the rest that name them, counted from the audits as before (a person's own, few). Their sum is
the same answer as counting all of them from the audits.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine, func, literal_column
from sqlalchemy import select as select_columns

from services.audit.month_counts import GRADES, OVERALL, THEMES
from services.audit.monthly_figures import DomainGradeCount, ThemeTally, months_between
from services.audit.queries import domain_grade_counts, grade_counts, theme_counts
from services.audit.stats import GradeCount, Grouping
from shared.auth import Caller
from shared.events.vocabulary import AuditDomain, Grade
from shared.visibility import sees_every_audit

GROUP_COLUMNS = {
    Grouping.SERVICE_AREA: "service_area",
    Grouping.AREA: "area",
    Grouping.TEAM: "team_id",
}


@dataclass
class BoardCounts:
    grades: list[GradeCount] = field(default_factory=list)
    domains: list[DomainGradeCount] = field(default_factory=list)
    themes: list[ThemeTally] = field(default_factory=list)
    """From the month before the span on: the first month's trend needs it."""


def board_counts(
    engine: Engine, first: date, last: date, caller: Caller, by: Grouping, themes_from: date
) -> BoardCounts:
    """Grades, domain grades (of the months `first`..`last`) and themes (of `themes_from`'s
    month..`last`) by UK month and group, over the audits the caller may see."""
    whole = None if sees_every_audit(caller) else sorted(caller.service_areas)
    counts = BoardCounts()
    if whole is None or whole:
        counts = _counted(engine, months_between(first, last), whole, by, themes_from, last)
    if whole is not None:
        # The audits that name the caller in areas they do not see whole.
        counts.grades += grade_counts(engine, first, last, caller, by, outside=whole)
        counts.domains += domain_grade_counts(engine, first, last, caller, by, outside=whole)
        counts.themes += theme_counts(engine, themes_from, last, caller, by, outside=whole)
    return counts


def _counted(
    engine: Engine,
    months: list[str],
    areas: list[str] | None,
    by: Grouping,
    themes_from: date,
    last: date,
) -> BoardCounts:
    """The counts of the service areas `areas` (every area if None), from the tables."""
    counts = BoardCounts()
    grades = _summed(GRADES, ("counted", "grade"), months, areas, by)
    themes = _summed(THEMES, ("theme",), months_between(themes_from, last), areas, by)
    with engine.connect() as connection:
        for month, group, counted, grade, n in connection.execute(grades):
            if counted == OVERALL:
                counts.grades.append(GradeCount(month, group, Grade(grade), int(n)))
            else:
                domain = AuditDomain(counted)
                counts.domains.append(DomainGradeCount(domain, month, group, Grade(grade), int(n)))
        for month, group, theme, n in connection.execute(themes):
            counts.themes.append(ThemeTally(month, group, theme, int(n)))
    return counts


def _summed(
    table: Any, what: tuple[str, ...], months: list[str], areas: list[str] | None, by: Grouping
) -> Any:
    """`table`'s counts of `months` summed by month, group and `what`."""
    group = literal_column("'county'") if by is Grouping.COUNTY else table.c[GROUP_COLUMNS[by]]
    where = [table.c.month.in_(months), table.c.audits > 0]
    if areas is not None:
        where.append(table.c.service_area.in_(areas))
    # Grouped outside: the county's constant is no column PostgreSQL may group by.
    rows = select_columns(
        table.c.month, group.label("grp"), *(table.c[name] for name in what), table.c.audits
    ).where(*where)
    counted = rows.subquery()
    keys = [counted.c.month, counted.c.grp, *(counted.c[name] for name in what)]
    return select_columns(*keys, func.sum(counted.c.audits)).group_by(*keys)
