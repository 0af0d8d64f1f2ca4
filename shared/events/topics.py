"""Kafka topic names: one topic per event type (case events share one topic)."""

from typing import Final

CASE_EVENTS: Final = "case.events"
AUDIT_GRADED: Final = "audit.graded"
AUDIT_INADEQUATE_FOUND: Final = "audit.inadequate-found"
MODERATION_REQUESTED: Final = "moderation.requested"
MODERATION_COMPLETED: Final = "moderation.completed"
MODERATION_DISAGREED: Final = "moderation.disagreed"
MODERATION_SAMPLING_RATE_CHANGED: Final = "moderation.sampling-rate-changed"
FOLLOWUP_SCHEDULED: Final = "followup.scheduled"
FOLLOWUP_REMINDER_DUE: Final = "followup.reminder-due"
FOLLOWUP_OVERDUE: Final = "followup.overdue"
FOLLOWUP_COMPLETED: Final = "followup.completed"
FOLLOWUP_CANCELLED: Final = "followup.cancelled"
NOTIFICATION_DELIVERED: Final = "notification.delivered"
NOTIFICATION_FAILED: Final = "notification.failed"

ALL_TOPICS: Final = (
    CASE_EVENTS,
    AUDIT_GRADED,
    AUDIT_INADEQUATE_FOUND,
    MODERATION_REQUESTED,
    MODERATION_COMPLETED,
    MODERATION_DISAGREED,
    MODERATION_SAMPLING_RATE_CHANGED,
    FOLLOWUP_SCHEDULED,
    FOLLOWUP_REMINDER_DUE,
    FOLLOWUP_OVERDUE,
    FOLLOWUP_COMPLETED,
    FOLLOWUP_CANCELLED,
    NOTIFICATION_DELIVERED,
    NOTIFICATION_FAILED,
)

DEAD_LETTER_SUFFIX: Final = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """Where messages from `topic` go when they cannot be processed."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"
