"""Read side of the audit service: filtered lists and the rows the statistics need."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.audit.models import Audit
from services.audit.stats import GradedRow
from shared.calendar import month_bounds, uk_day_start
from shared.events.vocabulary import AuditKind, Grade


@dataclass(frozen=True)
class AuditFilter:
    team_id: str | None = None
    service_area: str | None = None
    area: str | None = None
    month: date | None = None
    grade: Grade | None = None
    kind: AuditKind | None = None


def _graded_between(query: SelectOfScalar[Audit], first: date, last: date) -> SelectOfScalar[Audit]:
    return query.where(
        col(Audit.graded_at) >= uk_day_start(first),
        col(Audit.graded_at) < uk_day_start(last + timedelta(days=1)),
    )


def audit_by_id(engine: Engine, audit_id: str) -> Audit | None:
    with Session(engine) as session:
        return session.get(Audit, audit_id)


def list_audits(engine: Engine, where: AuditFilter, limit: int, offset: int) -> list[Audit]:
    query = select(Audit)
    for column, value in (
        (Audit.team_id, where.team_id),
        (Audit.service_area, where.service_area),
        (Audit.area, where.area),
        (Audit.overall_grade, where.grade),
        (Audit.audit_kind, where.kind),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    if where.month is not None:
        query = _graded_between(query, *month_bounds(where.month))
    query = query.order_by(col(Audit.graded_at).desc(), col(Audit.id)).limit(limit).offset(offset)
    with Session(engine) as session:
        return list(session.exec(query).all())


def graded_rows(engine: Engine, first: date, last: date) -> list[GradedRow]:
    with Session(engine) as session:
        audits = session.exec(_graded_between(select(Audit), first, last)).all()
        return [
            GradedRow(a.graded_at, Grade(a.overall_grade), a.team_id, a.service_area, a.area)
            for a in audits
        ]


def learning_audits_in_month(engine: Engine, day: date) -> int:
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
    with Session(engine) as session:
        return session.exec(query).one()
