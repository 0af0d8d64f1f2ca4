"""Read side of the audit service: audits as the caller may see them, and the statistics'
counts.

Statistics are counted by the database (GROUP BY over the window asked for), so their cost
follows the months asked for, not the rows kept, and nothing is loaded row by row. A UK month
is told by comparing instants with each month's first UK instant (`_uk_month`): the same SQL
on PostgreSQL and SQLite, right across the clock changes, where neither `date_trunc` nor
time zones are portable.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Text, case, cast, func, literal_column, true
from sqlalchemy import select as select_columns
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.audit.models import Audit, AuditModerator
from services.audit.monthly_figures import DomainGradeCount, ThemeTally, months_between
from services.audit.stats import GradeCount, Grouping
from shared.auth import Caller
from shared.calendar import month_bounds, month_start, uk_day_start
from shared.db import is_postgresql, where_equal
from shared.events.vocabulary import AuditDomain, AuditKind, Grade
from shared.paging import PageQuery, one_page
from shared.visibility import AuditPeople, PeopleColumns, visible_where

PEOPLE = PeopleColumns(
    service_area=col(Audit.service_area),
    named=(col(Audit.auditor_id), col(Audit.practitioner_id), col(Audit.team_manager_id)),
    audit_id=col(Audit.id),
    moderators=(col(AuditModerator.audit_id), col(AuditModerator.moderator_id)),
)


@dataclass(frozen=True)
class AuditFilter:
    team_id: str | None = None
    service_area: str | None = None
    area: str | None = None
    month: date | None = None
    grade: Grade | None = None
    kind: AuditKind | None = None
    auditor_id: str | None = None
    practitioner_id: str | None = None
    team_manager_id: str | None = None
    case_id: str | None = None


def _graded_within(first: date, last: date) -> tuple[ColumnElement[bool], ...]:
    """Graded on the UK days `first`..`last`."""
    return (
        col(Audit.graded_at) >= uk_day_start(first),
        col(Audit.graded_at) < uk_day_start(last + timedelta(days=1)),
    )


def _graded_between(query: SelectOfScalar[Audit], first: date, last: date) -> SelectOfScalar[Audit]:
    return query.where(*_graded_within(first, last))


def graded_month(first: date, last: date) -> ColumnElement[str]:
    """The UK month (YYYY-MM) an audit graded within `first`'s month..`last`'s was graded in:
    the first month whose end (the next month's first UK instant) is after it."""
    ends: list[tuple[ColumnElement[bool], ColumnElement[str]]] = []
    for month in months_between(first, last):
        next_first = month_bounds(month_start(month))[1] + timedelta(days=1)
        # Our own YYYY-MM, inlined: a typed constant on every database, and the same SQL text
        # in the select list and wherever the month is compared.
        ends.append((col(Audit.graded_at) < uk_day_start(next_first), literal_column(f"'{month}'")))
    return case(*ends)


def _group(by: Grouping) -> Any:
    """The column an audit's group is in (`GradedRow.group` in SQL; a constant for the county)."""
    if by is Grouping.COUNTY:
        return literal_column("'county'")
    return {
        Grouping.SERVICE_AREA: col(Audit.service_area),
        Grouping.AREA: col(Audit.area),
        Grouping.TEAM: col(Audit.team_id),
    }[by]


def json_elements(bind: Engine | Connection, text: Any, *names: str) -> Any:
    """The elements of JSON held as text, as rows (`key`, `value` of an object; `value` of an
    array): PostgreSQL's and SQLite's functions differ by name."""
    if not is_postgresql(bind):
        return func.json_each(text).table_valued(*names)
    if names == ("key", "value"):
        return func.json_each_text(cast(text, JSON)).table_valued(*names)
    return func.json_array_elements_text(cast(text, JSON)).table_valued(*names)


def _seen(caller: Caller, outside: Collection[str]) -> tuple[ColumnElement[bool], ...]:
    """The audits the caller may see, but for those of the service areas `outside` (counted
    from services.audit.month_counts' tables instead)."""
    if not outside:
        return (visible_where(caller, PEOPLE),)
    return (visible_where(caller, PEOPLE), col(Audit.service_area).not_in(sorted(outside)))


def _documents(
    column: Any, first: date, last: date, caller: Caller, by: Grouping, outside: Collection[str]
) -> Any:
    """How many audits the caller may see of each UK month and group hold each text of a JSON
    column: audits graded alike share one text, so each text is parsed once, not each audit."""
    graded = (
        select_columns(
            graded_month(first, last).label("month"),
            _group(by).label("grp"),
            cast(column, Text).label("doc"),
        )
        .where(*_seen(caller, outside), *_graded_within(first, last))
        .subquery()
    )
    columns = (graded.c.month, graded.c.grp, graded.c.doc)
    return select_columns(*columns, func.count().label("audits")).group_by(*columns).subquery()


def audit_by_id(engine: Engine, audit_id: str) -> tuple[Audit, AuditPeople] | None:
    """The audit and the people who may see it besides its area's leads, if it exists."""
    with Session(engine) as session:
        audit = session.get(Audit, audit_id)
        if audit is None:
            return None
        moderators = select(AuditModerator.moderator_id).where(AuditModerator.audit_id == audit_id)
        return audit, people_of(audit, frozenset(session.exec(moderators).all()))


def people_of(audit: Audit, moderator_ids: frozenset[str]) -> AuditPeople:
    return AuditPeople(
        audit.service_area,
        audit.auditor_id,
        audit.practitioner_id,
        audit.team_manager_id,
        moderator_ids,
    )


def list_audits(
    engine: Engine, caller: Caller, where: AuditFilter, paging: PageQuery
) -> list[Audit]:
    """A page of the audits `where` asks for, of those the caller may see."""
    query = select(Audit).where(visible_where(caller, PEOPLE))
    query = where_equal(
        query,
        (
            (col(Audit.team_id), where.team_id),
            (col(Audit.service_area), where.service_area),
            (col(Audit.area), where.area),
            (col(Audit.overall_grade), where.grade),
            (col(Audit.audit_kind), where.kind),
            (col(Audit.auditor_id), where.auditor_id),
            (col(Audit.practitioner_id), where.practitioner_id),
            (col(Audit.team_manager_id), where.team_manager_id),
            (col(Audit.case_id), where.case_id),
        ),
    )
    if where.month is not None:
        query = _graded_between(query, *month_bounds(where.month))
    query = query.order_by(col(Audit.graded_at).desc(), col(Audit.id))
    with Session(engine) as session:
        return list(session.exec(one_page(query, paging)).all())


def grade_counts(
    engine: Engine,
    first: date,
    last: date,
    caller: Caller,
    by: Grouping,
    outside: Collection[str] = (),
) -> list[GradeCount]:
    """Audits of the days `first`..`last` (whole months) that the caller may see, but for
    those of the service areas `outside`, counted by UK month, group and overall grade (every
    kind: a re-audit is graded too)."""
    graded = (
        select_columns(
            graded_month(first, last).label("month"),
            _group(by).label("grp"),
            col(Audit.overall_grade).label("grade"),
        )
        .where(*_seen(caller, outside), *_graded_within(first, last))
        .subquery()
    )
    query = select_columns(graded.c.month, graded.c.grp, graded.c.grade, func.count()).group_by(
        graded.c.month, graded.c.grp, graded.c.grade
    )
    with engine.connect() as connection:
        return [
            GradeCount(month, group, Grade(grade), count)
            for month, group, grade, count in connection.execute(query)
        ]


def domain_grade_counts(
    engine: Engine,
    first: date,
    last: date,
    caller: Caller,
    by: Grouping,
    outside: Collection[str] = (),
) -> list[DomainGradeCount]:
    """As `grade_counts`, each domain's grade instead of the overall one (keys that are not a
    domain are not counted)."""
    docs = _documents(col(Audit.domain_grades), first, last, caller, by, outside)
    grades = json_elements(engine, docs.c.doc, "key", "value")
    columns = (grades.c.key, docs.c.month, docs.c.grp, grades.c.value)
    query = (
        select_columns(*columns, func.sum(docs.c.audits))
        .select_from(docs)
        .join(grades, true())
        .where(grades.c.key.in_(sorted(d.value for d in AuditDomain)))
        .group_by(*columns)
    )
    with engine.connect() as connection:
        return [
            DomainGradeCount(AuditDomain(domain), month, group, Grade(grade), int(count))
            for domain, month, group, grade, count in connection.execute(query)
        ]


def theme_counts(
    engine: Engine,
    first: date,
    last: date,
    caller: Caller,
    by: Grouping,
    outside: Collection[str] = (),
) -> list[ThemeTally]:
    """How many of the audits of `grade_counts` were tagged with each theme, by UK month and
    group; an audit tagged twice with a theme counts once."""
    docs = _documents(col(Audit.themes), first, last, caller, by, outside)
    themes = json_elements(engine, docs.c.doc, "value")
    # DISTINCT: a theme twice in one text (one audit's list) is one tag of its audits.
    tagged = (
        select_columns(docs.c.month, docs.c.grp, docs.c.doc, docs.c.audits, themes.c.value)
        .select_from(docs)
        .join(themes, true())
        .distinct()
        .subquery()
    )
    columns = (tagged.c.month, tagged.c.grp, tagged.c.value)
    query = select_columns(*columns, func.sum(tagged.c.audits)).group_by(*columns)
    with engine.connect() as connection:
        return [
            ThemeTally(month, group, theme, int(count))
            for month, group, theme, count in connection.execute(query)
        ]


def learning_audits_in_month(engine: Engine, day: date, seen_by: Caller | None = None) -> int:
    """Learning audits graded in `day`'s month: those `seen_by` may see, or all (the metric)."""
    first, last = month_bounds(day)
    query = (
        select(func.count())
        .select_from(Audit)
        .where(
            col(Audit.audit_kind) == AuditKind.LEARNING.value,
            col(Audit.graded_at) >= uk_day_start(first),
            col(Audit.graded_at) < uk_day_start(last + timedelta(days=1)),
        )
    )
    if seen_by is not None:
        query = query.where(visible_where(seen_by, PEOPLE))
    with Session(engine) as session:
        return session.exec(query).one()


@dataclass(frozen=True)
class LearningRow:
    """What the month's learning shows of one learning audit."""

    id: str
    case_id: str
    service_area: str
    team_id: str
    overall_grade: Grade
    themes: list[str]
    could_be_better_if: list[str]


def learning_audits_of_month(engine: Engine, day: date, caller: Caller) -> list[LearningRow]:
    """The learning audits graded in `day`'s month that the caller may see, oldest first: one
    month's (the kind and graded_at index), and only the columns shown."""
    query = (
        select_columns(
            col(Audit.id),
            col(Audit.case_id),
            col(Audit.service_area),
            col(Audit.team_id),
            col(Audit.overall_grade),
            col(Audit.themes),
            col(Audit.could_be_better_if),
        )
        .where(
            visible_where(caller, PEOPLE),
            col(Audit.audit_kind) == AuditKind.LEARNING.value,
            *_graded_within(*month_bounds(day)),
        )
        .order_by(col(Audit.graded_at), col(Audit.id))
    )
    with engine.connect() as connection:
        return [
            LearningRow(id_, case, area, team, Grade(grade), list(themes), list(better))
            for id_, case, area, team, grade, themes, better in connection.execute(query)
        ]
