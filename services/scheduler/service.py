"""The scheduler as the platform knows it: settings, topics, who may call which route."""

from services.scheduler.settings import SchedulerSettings
from shared.auth import AccessRole
from shared.events import topics
from shared.permissions import ADMIN, DIRECTOR, HEAD, STATISTICS
from shared.service import ServiceDefinition

FOLLOWUP_READERS = frozenset({HEAD, DIRECTOR, ADMIN, AccessRole.SERVICE})

SERVICE = ServiceDefinition(
    settings=SchedulerSettings,
    title="Scheduler service",
    description=(
        "Follows up every Inadequate finding: reflective conversation, re-audit, reminders "
        "and escalation."
    ),
    consumes=(topics.AUDIT_INADEQUATE_FOUND, topics.AUDIT_GRADED, topics.MODERATION_COMPLETED),
    publishes=(
        topics.FOLLOWUP_SCHEDULED,
        topics.FOLLOWUP_REMINDER_DUE,
        topics.FOLLOWUP_OVERDUE,
        topics.FOLLOWUP_COMPLETED,
        topics.FOLLOWUP_CANCELLED,
    ),
    permissions={
        # scope: heads of service and assistant directors see their own service areas only
        "GET /followups": FOLLOWUP_READERS,
        "GET /followups/{followup_id}": FOLLOWUP_READERS,
        "POST /followups/{followup_id}/reflective-conversation": frozenset({HEAD}),
        "GET /stats/timeliness": STATISTICS,
    },
)
