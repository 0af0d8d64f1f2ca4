"""The scheduler as the platform knows it: settings, topics, who may call which route."""

from services.scheduler.retention import purge_followups
from services.scheduler.settings import SchedulerSettings
from shared.events import topics
from shared.permissions import ADMIN, AUDITOR, DIRECTOR, EVERYONE, HEAD, STAFF, STATISTICS
from shared.retention import MESSAGING_PURGES
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    settings=SchedulerSettings,
    title="Scheduler service",
    description=(
        "Follows up every Inadequate finding: reflective conversation, re-audit, reminders "
        "and escalation."
    ),
    consumes=(
        topics.AUDIT_INADEQUATE_FOUND,
        topics.AUDIT_GRADED,
        topics.MODERATION_REQUESTED,
        topics.MODERATION_COMPLETED,
        topics.AUDIT_ALLOCATED,
        topics.AUDIT_DECLINED,
        topics.AUDIT_EXEMPTED,
        topics.AUDIT_SUBMITTED,
    ),
    publishes=(
        topics.FOLLOWUP_SCHEDULED,
        topics.FOLLOWUP_REMINDER_DUE,
        topics.FOLLOWUP_OVERDUE,
        topics.FOLLOWUP_COMPLETED,
        topics.FOLLOWUP_CANCELLED,
        topics.ACTION_AGREED,
        topics.ACTION_UPDATED,
        topics.ACTION_REMINDER_DUE,
        topics.ACTION_OVERDUE,
        topics.ACTION_COMPLETED,
        topics.AUDIT_REMINDER_DUE,
        topics.AUDIT_OVERDUE,
    ),
    permissions={
        # scope: follow-ups of the audits the caller may see (shared.visibility)
        "GET /followups": EVERYONE,
        "GET /followups/{followup_id}": EVERYONE,
        # scope: the Head of Service of the follow-up's service area
        "POST /followups/{followup_id}/reflective-conversation": frozenset({HEAD}),
        # scope: the assistant director of the follow-up's service area, or an admin
        "POST /followups/{followup_id}/reassign": frozenset({DIRECTOR, ADMIN}),
        # scope: follow-ups of the audits the caller may see (shared.visibility)
        "GET /stats/timeliness": STATISTICS,
        # scope: actions of the audits the caller may see, and those they own or manage
        "GET /actions": EVERYONE,
        "GET /actions/{action_id}": EVERYONE,
        # scope: the owner, the owner's manager and the area's Head of Service (in the rules)
        "POST /actions/{action_id}": STAFF,
        # scope: the owner of the follow-up's re-audit, a trained auditor
        "POST /actions/{action_id}/verification": frozenset({AUDITOR}),
        # scope: actions of the audits the caller may see, and those they own or manage
        "GET /stats/actions": STATISTICS,
    },
    purges=(*MESSAGING_PURGES, purge_followups),
)
