"""How long the scheduler keeps follow-ups and what it learnt of audits: the case-record period.

A follow-up goes, with its timeline, timers, refused re-audits and agreed actions, that long
after it closed; an open one never (it has no `closed_at`), nor one with an action still open.
The facts of an audit go that long after its grading, unless a follow-up of it is still open.
A programme allocation goes, with its timers, that long after it was submitted, declined or
exempted; one still awaited never (it has no `settled_at`).
"""

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from services.scheduler.followup import FollowUpStatus
from services.scheduler.gauges import followups_changed
from services.scheduler.models import (
    ActionRecord,
    ActionRequest,
    AllocationRecord,
    AuditFact,
    FollowUp,
    ModerationFact,
    ModeratorFact,
    RefusedReauditRecord,
    TimelineEntry,
    Timer,
)
from shared.db import transaction
from shared.events.vocabulary import ActionStatus
from shared.retention import Expiry, days_ago, purge_expired
from shared.settings import ServiceSettings

_followed_up = select(FollowUp.audit_id).where(FollowUp.status == FollowUpStatus.OPEN)
_acting = select(ActionRecord.origin_id).where(ActionRecord.status == ActionStatus.OPEN)

FOLLOWUPS = Expiry(
    FollowUp.id,
    FollowUp.closed_at,
    settled=(col(FollowUp.id).not_in(_acting),),
    dependents=(
        TimelineEntry.followup_id,
        Timer.followup_id,
        RefusedReauditRecord.followup_id,
        ActionRecord.origin_id,
        ActionRequest.origin_id,
    ),
)
AUDIT_FACTS = Expiry(
    AuditFact.audit_id,
    AuditFact.graded_at,
    settled=(col(AuditFact.audit_id).not_in(_followed_up),),
    dependents=(ModeratorFact.audit_id,),
)
MODERATION_FACTS = Expiry(
    ModerationFact.audit_id,
    ModerationFact.moderated_at,
    settled=(col(ModerationFact.audit_id).not_in(_followed_up),),
)

ALLOCATIONS = Expiry(
    AllocationRecord.id, AllocationRecord.settled_at, dependents=(Timer.allocation_id,)
)


def purge_followups(engine: Engine, now: datetime, settings: ServiceSettings) -> tuple[str, int]:
    days = settings.case_record_retention_days
    cutoff = days_ago(now, days)
    gone = sum(
        purge_expired(engine, expiry, cutoff)
        for expiry in (FOLLOWUPS, AUDIT_FACTS, MODERATION_FACTS, ALLOCATIONS)
    )
    if gone:
        # Follow-ups went: the running schedulers' gauges count again (`qa purge` runs apart
        # from them, so it tells them through the database).
        with transaction(engine) as session:
            followups_changed(session)
    what = "follow-ups closed, audit facts graded and allocations settled"
    return f"{what} more than {days} days ago", gone
