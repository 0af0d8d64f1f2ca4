"""How long the audit service keeps audits and the programme: the council's case-record period
from grading (an audit) or from allocation (a programme audit, with its reflections and draft)
or the draw (a programme, whose unallocated cases name cases).

An audit goes with the moderators it named and the submission keys that created it, and is
taken away from the board's monthly counts in the same transaction. A live
programme audit never goes, however old: it is still someone's work.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, delete, select
from sqlmodel import col

from services.audit.allocation_rules import LIVE
from services.audit.models import (
    AllocationRow,
    Audit,
    AuditModerator,
    ProgrammeRow,
    ReauditAssignmentRow,
    ReflectionRow,
    SubmissionKey,
)
from services.audit.month_counts import COUNTED_COLUMNS, uncount_audits
from shared.db import transaction
from shared.retention import Expiry, days_ago, purge_expired
from shared.settings import ServiceSettings

AUDITS = Expiry(
    Audit.id,
    Audit.graded_at,
    dependents=(AuditModerator.audit_id, SubmissionKey.audit_id, ReauditAssignmentRow.audit_id),
)
ALLOCATIONS = Expiry(
    AllocationRow.id,
    AllocationRow.allocated_at,
    settled=(col(AllocationRow.status).not_in(sorted(status.value for status in LIVE)),),
    dependents=(ReflectionRow.allocation_id,),
)
PROGRAMMES = Expiry(ProgrammeRow.id, ProgrammeRow.drawn_at)


def purge_audits(engine: Engine, now: datetime, settings: ServiceSettings) -> tuple[str, int]:
    days = settings.case_record_retention_days
    cutoff = days_ago(now, days)
    expired = col(Audit.graded_at) < cutoff
    # As shared.retention.purge_expired, but in one transaction with the board's counts: the
    # rows the DELETE returns are exactly those taken away from them, so the two never drift.
    with transaction(engine) as session:
        for dependent in AUDITS.dependents:
            session.execute(delete(dependent.class_).where(col(dependent).in_(_ids(expired))))
        gone = session.execute(delete(Audit).where(expired).returning(*COUNTED_COLUMNS)).all()
        uncount_audits(session, gone)
    return f"audits graded more than {days} days ago", len(gone)


def _ids(expired: ColumnElement[bool]) -> Select[Any]:
    return select(col(Audit.id)).where(expired)


def purge_allocations(engine: Engine, now: datetime, settings: ServiceSettings) -> tuple[str, int]:
    days = settings.case_record_retention_days
    return f"programme audits closed and allocated more than {days} days ago", purge_expired(
        engine, ALLOCATIONS, days_ago(now, days)
    )


def purge_programmes(engine: Engine, now: datetime, settings: ServiceSettings) -> tuple[str, int]:
    days = settings.case_record_retention_days
    return f"programmes drawn more than {days} days ago", purge_expired(
        engine, PROGRAMMES, days_ago(now, days)
    )
