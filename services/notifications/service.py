"""The notifications service as the platform knows it: settings, topics, routes, retention."""

from datetime import datetime

from sqlalchemy import Engine

from services.notifications.retention import purge_notifications
from services.notifications.settings import NotificationSettings
from shared.events import topics
from shared.permissions import STAFF
from shared.retention import MESSAGING_PURGES
from shared.service import ServiceDefinition
from shared.settings import ServiceSettings


def purge_settled_notifications(
    engine: Engine, now: datetime, settings: ServiceSettings
) -> tuple[str, int]:
    if not isinstance(settings, NotificationSettings):
        raise TypeError(f"expected the notifications service's settings, got {type(settings)}")
    days = settings.notification_retention_days
    return f"settled notifications older than {days} days", purge_notifications(engine, now, days)


SERVICE = ServiceDefinition(
    settings=NotificationSettings,
    title="Notifications service",
    description="Tells the right managers, once, by email, in-app inbox and webhook.",
    consumes=(
        topics.AUDIT_GRADED,
        topics.AUDIT_INADEQUATE_FOUND,
        topics.MODERATION_REQUESTED,
        topics.MODERATION_DISAGREED,
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
        topics.AUDIT_ALLOCATED,
        topics.AUDIT_EXEMPTED,
        topics.AUDIT_REMINDER_DUE,
        topics.AUDIT_OVERDUE,
    ),
    publishes=(topics.NOTIFICATION_DELIVERED, topics.NOTIFICATION_FAILED),
    permissions={
        # scope: a person's own inbox and preferences only, whatever their role
        "GET /inbox/{staff_id}": STAFF,
        "POST /inbox/{notification_id}/read": STAFF,
        "GET /preferences/{staff_id}": STAFF,
        "PUT /preferences/{staff_id}": STAFF,
    },
    purges=(*MESSAGING_PURGES, purge_settled_notifications),
)
