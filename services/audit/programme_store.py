"""The programme's tables as the use cases need them: what a draw starts from, allocation rows
and the events that tell the other services about them, in the caller's transaction."""

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.audit.allocation_rules import LIVE, AllocationPeople
from services.audit.models import AllocationRow, Audit, ProgrammeRow, ReflectionRow, RegisteredCase
from services.audit.programme_draw import OpenCase
from shared.calendar import uk_day_start
from shared.events import (
    AuditAllocated,
    AuditDeclined,
    AuditExempted,
    AuditSubmitted,
    EventData,
    new_event,
)
from shared.events.vocabulary import AllocationStatus, AuditKind
from shared.outbox import add_event

SOURCE = "/qa/audit"  # the audit service's, as in services.audit.handlers
LIVE_VALUES = sorted(status.value for status in LIVE)


def open_cases(session: Session) -> list[OpenCase]:
    """The register's open cases whose holder is known."""
    query = select(RegisteredCase).where(
        col(RegisteredCase.open).is_(True), col(RegisteredCase.team_id) != ""
    )
    return [
        OpenCase(row.case_id, row.team_id, row.practitioner_id, row.team_manager_id, row.closing_on)
        for row in session.exec(query)
    ]


def audited_since(session: Session, day: date) -> set[str]:
    """Cases with an audit graded on or after `day` (UK days)."""
    query = select(Audit.case_id).where(col(Audit.graded_at) >= uk_day_start(day)).distinct()
    return set(session.exec(query))


def in_live_allocation(session: Session) -> set[str]:
    query = select(AllocationRow.case_id).where(col(AllocationRow.status).in_(LIVE_VALUES))
    return set(session.exec(query))


def live_load(session: Session) -> Counter[str]:
    """How many live allocations each auditor holds."""
    query = (
        select(AllocationRow.auditor_id, func.count())
        .where(col(AllocationRow.status).in_(LIVE_VALUES))
        .group_by(col(AllocationRow.auditor_id))
    )
    return Counter(dict(session.exec(query).all()))


def programme_of(session: Session, month: str) -> ProgrammeRow | None:
    return session.exec(select(ProgrammeRow).where(ProgrammeRow.month == month)).first()


def people_of(row: AllocationRow) -> AllocationPeople:
    return AllocationPeople(
        row.id,
        row.service_area,
        row.practitioner_id,
        row.team_manager_id,
        row.auditor_id,
        AllocationStatus(row.status),
    )


def reflections_of(session: Session, allocation_ids: list[str]) -> dict[str, list[ReflectionRow]]:
    """Each allocation's reflections, oldest first."""
    found: dict[str, list[ReflectionRow]] = {allocation_id: [] for allocation_id in allocation_ids}
    if not allocation_ids:
        return found
    query = (
        select(ReflectionRow)
        .where(col(ReflectionRow.allocation_id).in_(allocation_ids))
        .order_by(col(ReflectionRow.at), col(ReflectionRow.id))
    )
    for reflection in session.exec(query):
        found[reflection.allocation_id].append(reflection)
    return found


def _facts(row: AllocationRow) -> dict[str, Any]:
    return {
        "case_id": row.case_id,
        "allocation_id": row.id,
        "programme_id": row.programme_id,
        "month": row.month,
        "service_area": row.service_area,
        "team_id": row.team_id,
        "practitioner_id": row.practitioner_id,
        "team_manager_id": row.team_manager_id,
        "auditor_id": row.auditor_id,
        "due_on": row.due_on,
    }


def publish(session: Session, data: EventData, row: AllocationRow) -> None:
    add_event(session, new_event(data, source=SOURCE, correlation_id=row.id))


def allocated(session: Session, row: AllocationRow) -> None:
    publish(
        session,
        AuditAllocated(
            **_facts(row),
            allocated_by=row.allocated_by,
            reallocated_from=row.reallocated_from,
            allocated_at=row.allocated_at,
        ),
        row,
    )


def declined(session: Session, row: AllocationRow, at: datetime) -> None:
    publish(session, AuditDeclined(**_facts(row), declined_at=at), row)


def exempted(session: Session, row: AllocationRow, by: str, at: datetime) -> None:
    publish(session, AuditExempted(**_facts(row), exempted_by=by, exempted_at=at), row)


def close_by_audit(session: Session, audit: Audit, now: datetime) -> AllocationRow | None:
    """A learning audit of a case by the auditor of its live allocation submits that allocation,
    however it was sent (POST /audits or the allocation's own submit)."""
    if audit.audit_kind != AuditKind.LEARNING.value:
        return None
    query = select(AllocationRow).where(
        AllocationRow.case_id == audit.case_id,
        AllocationRow.auditor_id == audit.auditor_id,
        col(AllocationRow.status).in_(LIVE_VALUES),
    )
    row = session.exec(query.order_by(col(AllocationRow.allocated_at))).first()
    if row is None:
        return None
    row.status = AllocationStatus.SUBMITTED.value
    row.audit_id = audit.id
    row.closed_at = now
    session.add(row)
    publish(session, AuditSubmitted(**_facts(row), audit_id=audit.id, submitted_at=now), row)
    return row
