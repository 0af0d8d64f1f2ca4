"""The audit service as the platform knows it: settings, topics, who may call which route."""

from services.audit.settings import AuditSettings
from shared.events import topics
from shared.permissions import AUDITOR, EVERYONE, STATISTICS
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    settings=AuditSettings,
    title="Audit service",
    description=(
        "Records graded case audits; learns from the case management system who holds a case "
        "and from moderation who moderates an audit."
    ),
    consumes=(topics.CASE_EVENTS, topics.MODERATION_REQUESTED),
    publishes=(topics.AUDIT_GRADED, topics.AUDIT_INADEQUATE_FOUND),
    permissions={
        "POST /audits": frozenset({AUDITOR}),  # scope: auditor_id is the caller
        # scope: the audits the caller may see (shared.visibility)
        "GET /audits": EVERYONE,
        "GET /audits/{audit_id}": EVERYONE,
        "GET /stats/grades": STATISTICS,
        "GET /stats/target": STATISTICS,
    },
)
