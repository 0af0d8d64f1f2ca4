"""The audit service as the platform knows it: settings, topics, who may call which route."""

from services.audit.retention import purge_audits
from services.audit.settings import AuditSettings
from shared.events import topics
from shared.permissions import AUDITOR, EVERYONE, STATISTICS
from shared.retention import MESSAGING_PURGES
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    settings=AuditSettings,
    title="Audit service",
    description=(
        "Records graded case audits; learns from the case management system who holds a case, "
        "from moderation who moderates an audit, and from the scheduler who may re-audit it."
    ),
    consumes=(
        topics.CASE_EVENTS,
        topics.MODERATION_REQUESTED,
        topics.FOLLOWUP_SCHEDULED,
        topics.FOLLOWUP_COMPLETED,
        topics.FOLLOWUP_CANCELLED,
    ),
    publishes=(
        topics.AUDIT_GRADED,
        topics.AUDIT_INADEQUATE_FOUND,
        topics.AUDIT_ALLOCATED,
        topics.AUDIT_DECLINED,
        topics.AUDIT_EXEMPTED,
        topics.AUDIT_SUBMITTED,
    ),
    permissions={
        "POST /audits": frozenset({AUDITOR}),  # scope: auditor_id is the caller
        # scope: the audits the caller may see (shared.visibility)
        "GET /audits": EVERYONE,
        "GET /audits/{audit_id}": EVERYONE,
        "GET /stats/grades": STATISTICS,
        "GET /stats/target": STATISTICS,
    },
    purges=(*MESSAGING_PURGES, purge_audits),
)
