"""The audit service as the platform knows it: settings, topics, who may call which route."""

from services.audit.settings import AuditSettings
from shared.events import topics
from shared.permissions import AUDITOR, CASE_READERS, STATISTICS
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    settings=AuditSettings,
    title="Audit service",
    description=(
        "Records graded case audits; learns from the case management system who holds a case."
    ),
    consumes=(topics.CASE_EVENTS,),
    publishes=(topics.AUDIT_GRADED, topics.AUDIT_INADEQUATE_FOUND),
    permissions={
        "POST /audits": frozenset({AUDITOR}),  # scope: auditor_id is the caller
        "GET /audits": CASE_READERS,
        "GET /audits/{audit_id}": CASE_READERS,
        "GET /stats/grades": STATISTICS,
        "GET /stats/target": STATISTICS,
    },
)
