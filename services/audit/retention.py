"""How long the audit service keeps audits: the council's case-record period from grading.

An audit goes with the moderators it named and the submission keys that created it.
"""

from datetime import datetime

from sqlalchemy import Engine

from services.audit.models import Audit, AuditModerator, ReauditAssignmentRow, SubmissionKey
from shared.retention import Expiry, days_ago, purge_expired
from shared.settings import ServiceSettings

AUDITS = Expiry(
    Audit.id,
    Audit.graded_at,
    dependents=(AuditModerator.audit_id, SubmissionKey.audit_id, ReauditAssignmentRow.audit_id),
)


def purge_audits(engine: Engine, now: datetime, settings: ServiceSettings) -> tuple[str, int]:
    days = settings.case_record_retention_days
    return f"audits graded more than {days} days ago", purge_expired(
        engine, AUDITS, days_ago(now, days)
    )
