"""The board's monthly counts (models.MonthGradeCount, MonthThemeCount), kept as the audits
change, so that /stats/monthly reads a few hundred counts instead of every audit's JSON.

Every change to the audits changes these in the same transaction, through one UPSERT
(`_upsert`: INSERT ... ON CONFLICT DO UPDATE SET audits = audits + excluded.audits, written with
the dialect's insert, the same on PostgreSQL and SQLite), so they cannot drift: recording an
audit adds its counts (`count_audits`, from services.audit.handlers), a purge takes away those
of the very rows it deleted (`uncount_audits`, from services.audit.retention), and migration
0009 counted the audits there were (`recount`, one aggregate in SQL). Audits are never edited
or superseded in place (a re-audit is an audit of its own), so nothing else changes them.

The counts hold no case and no person; small numbers are hidden where they are shown
(services.audit.monthly_figures), as before.
"""

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    Connection,
    Executable,
    Table,
    delete,
    distinct,
    func,
    insert,
    literal_column,
    true,
)
from sqlalchemy import select as select_columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from services.audit.models import Audit, MonthGradeCount, MonthThemeCount
from services.audit.queries import graded_month, json_elements
from shared.calendar import uk_day, uk_month
from shared.db import is_postgresql, last_at_commit
from shared.events.vocabulary import AuditDomain

OVERALL = "overall"
"""`counted` of the overall grade's counts (every other value is a domain)."""
DOMAINS = frozenset(domain.value for domain in AuditDomain)
"""Keys of `domain_grades` that are counted: any other is not a domain (and never was)."""
GRADES: Table = MonthGradeCount.__table__  # type: ignore[attr-defined]
THEMES: Table = MonthThemeCount.__table__  # type: ignore[attr-defined]
WHERE = ("month", "service_area", "area", "team_id")
GRADE_KEY = (*WHERE, "counted", "grade")
THEME_KEY = (*WHERE, "theme")

GradeKey = tuple[str, str, str, str, str, str]
ThemeKey = tuple[str, str, str, str, str]
Key = TypeVar("Key", GradeKey, ThemeKey)


class CountedAudit(Protocol):
    """What the counts know of an audit (an `Audit`, or a row a purge deleted)."""

    @property
    def graded_at(self) -> datetime: ...
    @property
    def service_area(self) -> str: ...
    @property
    def area(self) -> str: ...
    @property
    def team_id(self) -> str: ...
    @property
    def overall_grade(self) -> str: ...
    @property
    def domain_grades(self) -> Mapping[str, str]: ...
    @property
    def themes(self) -> Sequence[str]: ...


COUNTED_COLUMNS = (
    col(Audit.graded_at),
    col(Audit.service_area),
    col(Audit.area),
    col(Audit.team_id),
    col(Audit.overall_grade),
    col(Audit.domain_grades),
    col(Audit.themes),
)
"""The columns `CountedAudit` reads: what a purge has its DELETE return."""


def tallies(
    audits: Iterable[CountedAudit], sign: int = 1
) -> tuple[Counter[GradeKey], Counter[ThemeKey]]:
    """What `audits` add to each count (with sign -1, take away): the overall grade, each
    domain's, and each theme once an audit, in the audit's UK month and team."""
    grades: Counter[GradeKey] = Counter()
    themes: Counter[ThemeKey] = Counter()
    for audit in audits:
        where = (uk_month(audit.graded_at), audit.service_area, audit.area, audit.team_id)
        grades[(*where, OVERALL, audit.overall_grade)] += sign
        for domain, grade in audit.domain_grades.items():
            if domain in DOMAINS:
                grades[(*where, domain, grade)] += sign
        for theme in set(audit.themes):
            themes[(*where, theme)] += sign
    return grades, themes


def count_audits(session: Session, audits: Iterable[CountedAudit]) -> None:
    """Add `audits` to the counts as `session`'s transaction (the one that records them)
    commits, after everything else it writes: every audit of a team's month moves the same
    rows, so their locks are held no longer than the COMMIT (shared.db `last_at_commit`)."""
    for upsert in _upserts(session, tallies(audits)):
        last_at_commit(session, *upsert)


def uncount_audits(session: Session, audits: Iterable[CountedAudit]) -> None:
    """Take `audits` (deleted in `session`'s transaction) away from the counts; a count that
    reaches zero goes, as if those audits had never been."""
    for upsert in _upserts(session, tallies(audits, sign=-1)):
        session.execute(*upsert)
    for table in (GRADES, THEMES):
        session.execute(delete(table).where(table.c.audits == 0))


Upsert = tuple[Executable, list[dict[str, Any]]]


def _upserts(
    session: Session, counts: tuple[Counter[GradeKey], Counter[ThemeKey]]
) -> Iterator[Upsert]:
    grades, themes = counts
    upserts = (
        _upsert(session, GRADES, GRADE_KEY, grades),
        _upsert(session, THEMES, THEME_KEY, themes),
    )
    yield from (upsert for upsert in upserts if upsert is not None)


def _upsert(
    session: Session, table: Table, key: Sequence[str], counts: Mapping[Key, int]
) -> Upsert | None:
    """The one UPSERT: each count's row created, or its number moved by the count (None when
    nothing moves). Rows go in key order, so that two transactions lock shared rows in the
    same order (no deadlock)."""
    rows = [dict(zip(key, k, strict=True), audits=n) for k, n in sorted(counts.items()) if n]
    if not rows:
        return None
    # Given the rows as parameters, not as VALUES in the statement: one statement compiled once
    # per table for every audit, run by the driver's executemany in the rows' order.
    return _upsert_statement(table, tuple(key), is_postgresql(session.get_bind())), rows


@cache
def _upsert_statement(table: Table, key: tuple[str, ...], postgres: bool) -> Executable:
    """Built once per table and dialect (the same on PostgreSQL and SQLite)."""
    dialect: Any = postgresql if postgres else sqlite
    statement = dialect.insert(table)
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=list(key), set_={"audits": table.c.audits + statement.excluded.audits}
    )


def recount(connection: Connection) -> None:
    """Count every audit afresh, in SQL (migration 0009; the bench's seeded history): what
    `tallies` gives for all the audits, one aggregate per table."""
    connection.execute(delete(GRADES))
    connection.execute(delete(THEMES))
    span = select_columns(func.min(col(Audit.graded_at)), func.max(col(Audit.graded_at)))
    first, last = connection.execute(span).one()
    if first is None:
        return
    audits = select_columns(
        graded_month(uk_day(first), uk_day(last)).label("month"),
        col(Audit.service_area).label("service_area"),
        col(Audit.area).label("area"),
        col(Audit.team_id).label("team_id"),
        col(Audit.id).label("id"),
        col(Audit.overall_grade).label("overall_grade"),
        col(Audit.domain_grades).label("domain_grades"),
        col(Audit.themes).label("themes"),
    ).subquery()
    where = [audits.c[name] for name in WHERE]
    overall = select_columns(
        *where, literal_column(f"'{OVERALL}'"), audits.c.overall_grade, func.count()
    ).group_by(*where, audits.c.overall_grade)
    domains = json_elements(connection, audits.c.domain_grades, "key", "value")
    by_domain = (
        select_columns(*where, domains.c.key, domains.c.value, func.count())
        .select_from(audits)
        .join(domains, true())
        .where(domains.c.key.in_(sorted(DOMAINS)))
        .group_by(*where, domains.c.key, domains.c.value)
    )
    connection.execute(
        insert(GRADES).from_select([*GRADE_KEY, "audits"], overall.union_all(by_domain))
    )
    themes = json_elements(connection, audits.c.themes, "value")
    # count(DISTINCT id): a theme twice in one audit's list is one tag of that audit.
    tagged = (
        select_columns(*where, themes.c.value, func.count(distinct(audits.c.id)))
        .select_from(audits)
        .join(themes, true())
        .group_by(*where, themes.c.value)
    )
    connection.execute(insert(THEMES).from_select([*THEME_KEY, "audits"], tagged))
