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
ACTION_AGREED: Final = "action.agreed"
ACTION_UPDATED: Final = "action.updated"
ACTION_REMINDER_DUE: Final = "action.reminder-due"
ACTION_OVERDUE: Final = "action.overdue"
ACTION_COMPLETED: Final = "action.completed"
AUDIT_ALLOCATED: Final = "allocation.allocated"
AUDIT_DECLINED: Final = "allocation.declined"
AUDIT_EXEMPTED: Final = "allocation.exempted"
AUDIT_SUBMITTED: Final = "allocation.submitted"
AUDIT_REMINDER_DUE: Final = "allocation.reminder-due"
AUDIT_OVERDUE: Final = "allocation.overdue"
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
    ACTION_AGREED,
    ACTION_UPDATED,
    ACTION_REMINDER_DUE,
    ACTION_OVERDUE,
    ACTION_COMPLETED,
    AUDIT_ALLOCATED,
    AUDIT_DECLINED,
    AUDIT_EXEMPTED,
    AUDIT_SUBMITTED,
    AUDIT_REMINDER_DUE,
    AUDIT_OVERDUE,
    NOTIFICATION_DELIVERED,
    NOTIFICATION_FAILED,
)

CASE_MANAGEMENT: Final = "case-management"
"""Stands for the council's case management system, the one producer outside the platform."""

PRODUCERS: Final = {
    CASE_EVENTS: frozenset({CASE_MANAGEMENT}),
    AUDIT_GRADED: frozenset({"audit"}),
    AUDIT_INADEQUATE_FOUND: frozenset({"audit", "moderation"}),
    MODERATION_REQUESTED: frozenset({"moderation"}),
    MODERATION_COMPLETED: frozenset({"moderation"}),
    MODERATION_DISAGREED: frozenset({"moderation"}),
    MODERATION_SAMPLING_RATE_CHANGED: frozenset({"moderation"}),
    FOLLOWUP_SCHEDULED: frozenset({"scheduler"}),
    FOLLOWUP_REMINDER_DUE: frozenset({"scheduler"}),
    FOLLOWUP_OVERDUE: frozenset({"scheduler"}),
    FOLLOWUP_COMPLETED: frozenset({"scheduler"}),
    FOLLOWUP_CANCELLED: frozenset({"scheduler"}),
    ACTION_AGREED: frozenset({"scheduler"}),
    ACTION_UPDATED: frozenset({"scheduler"}),
    ACTION_REMINDER_DUE: frozenset({"scheduler"}),
    ACTION_OVERDUE: frozenset({"scheduler"}),
    ACTION_COMPLETED: frozenset({"scheduler"}),
    AUDIT_ALLOCATED: frozenset({"audit"}),
    AUDIT_DECLINED: frozenset({"audit"}),
    AUDIT_EXEMPTED: frozenset({"audit"}),
    AUDIT_SUBMITTED: frozenset({"audit"}),
    AUDIT_REMINDER_DUE: frozenset({"scheduler"}),
    AUDIT_OVERDUE: frozenset({"scheduler"}),
    NOTIFICATION_DELIVERED: frozenset({"notifications"}),
    NOTIFICATION_FAILED: frozenset({"notifications"}),
}
"""Who may write each topic: the contract's "produced by" column. Consumers refuse events from
anyone else (shared.events.trust), the broker's ACLs are made from it, and each service's
declared `publishes` must agree with it (tested)."""


def service_source(service: str) -> str:
    """The CloudEvents `source` a service of the platform publishes with."""
    return f"/qa/{service}"


DEAD_LETTER_SUFFIX: Final = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """Where messages from `topic` go when they cannot be processed."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"
