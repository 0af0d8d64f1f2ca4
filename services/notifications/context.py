"""What the event handlers, the API and the background workers share: the context they run in
and the events that announce how a notification ended."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from services.notifications.models import Notification
from shared.clock import Clock
from shared.events import NotificationDelivered, NotificationFailed, new_event
from shared.organisation import Organisation
from shared.outbox import add_event

SOURCE = "/qa/notifications"
DELIVERIES = "deliveries"
"""The wake-up channel (shared.wakeup) of the delivery worker: a transaction that makes a
notification to send wakes it on commit."""


@dataclass(frozen=True)
class NotifyContext:
    organisation: Organisation
    clock: Clock
    base_url: str
    webhook_urls: Mapping[str, str]


def _event_id(notification: Notification) -> str:
    """The id of the event a notification was made for, as its events carry it."""
    return notification.source_event_id.rsplit("#", 1)[-1][:64]


def announce_delivery(session: Session, notification: Notification, now: datetime) -> None:
    delivered = NotificationDelivered(
        case_id=notification.case_id,
        notification_id=notification.id,
        source_event_id=_event_id(notification),
        recipient_id=notification.recipient_id,
        channel=notification.channel,
        attempts=max(1, notification.attempts),
        delivered_at=now,
    )
    add_event(session, new_event(delivered, source=SOURCE))


def announce_failure(
    session: Session, notification: Notification, reason: str, now: datetime
) -> None:
    failed = NotificationFailed(
        case_id=notification.case_id,
        notification_id=notification.id,
        source_event_id=_event_id(notification),
        recipient_id=notification.recipient_id,
        channel=notification.channel,
        attempts=notification.attempts,
        reason=reason,
        failed_at=now,
    )
    add_event(session, new_event(failed, source=SOURCE))
