"""How long the audit service keeps audits and the programme: the council's case-record period
from grading (an audit) or from allocation (a programme audit, with its reflections and draft)
or the draw (a programme, whose unallocated cases name cases).

An audit goes with the moderators it named and the submission keys that created it. A live
programme audit never goes, however old: it is still someone's work.
"""

from datetime import datetime

from sqlalchemy import Engine
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
    return f"audits graded more than {days} days ago", purge_expired(
        engine, AUDITS, days_ago(now, days)
    )


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
