"""Read side of the audit service: audits as the caller may see them, and the statistics' rows."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.audit.models import Audit, AuditModerator
from services.audit.monthly_figures import AuditFacts
from services.audit.stats import GradedRow
from shared.auth import Caller
from shared.calendar import month_bounds, uk_day_start
from shared.db import where_equal
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


def _graded_between(query: SelectOfScalar[Audit], first: date, last: date) -> SelectOfScalar[Audit]:
    return query.where(
        col(Audit.graded_at) >= uk_day_start(first),
        col(Audit.graded_at) < uk_day_start(last + timedelta(days=1)),
    )


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


def graded_rows(engine: Engine, first: date, last: date, caller: Caller) -> list[GradedRow]:
    """The graded audits of the months `first`..`last` that the caller may see."""
    query = _graded_between(select(Audit).where(visible_where(caller, PEOPLE)), first, last)
    with Session(engine) as session:
        return [
            GradedRow(a.graded_at, Grade(a.overall_grade), a.team_id, a.service_area, a.area)
            for a in session.exec(query).all()
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


def audit_facts(engine: Engine, first: date, last: date, caller: Caller) -> list[AuditFacts]:
    """The graded audits of the days `first`..`last` that the caller may see, as the monthly
    figures count them (every kind, as `graded_rows`: the board's grades match the dashboards)."""
    query = _graded_between(select(Audit).where(visible_where(caller, PEOPLE)), first, last)
    with Session(engine) as session:
        return [facts_of(audit) for audit in session.exec(query).all()]


def facts_of(audit: Audit) -> AuditFacts:
    domains = {d.value for d in AuditDomain}
    return AuditFacts(
        graded_at=audit.graded_at,
        overall_grade=Grade(audit.overall_grade),
        domain_grades={
            AuditDomain(domain): Grade(grade)
            for domain, grade in audit.domain_grades.items()
            if domain in domains
        },
        themes=tuple(audit.themes),
        team_id=audit.team_id,
        service_area=audit.service_area,
        area=audit.area,
    )


def learning_audits_of_month(engine: Engine, day: date, caller: Caller) -> list[Audit]:
    """The learning audits graded in `day`'s month that the caller may see, oldest first."""
    query = select(Audit).where(
        visible_where(caller, PEOPLE), col(Audit.audit_kind) == AuditKind.LEARNING.value
    )
    query = _graded_between(query, *month_bounds(day))
    with Session(engine) as session:
        return list(session.exec(query.order_by(col(Audit.graded_at), col(Audit.id))).all())
