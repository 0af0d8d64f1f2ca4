"""Turning events into notifications: one per event, person and channel, whatever the repeats."""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from services.notifications.messages import compose, render
from services.notifications.models import AuditPeopleRow, Notification, ParkedEvent, Preference
from services.notifications.routing import NEEDS_AUDIT_PEOPLE, AuditPeople, Kind, recipients
from shared.clock import Clock
from shared.db import lock_for
from shared.events import (
    AuditGraded,
    CloudEvent,
    EventData,
    NotificationDelivered,
    new_event,
    parse_event,
)
from shared.events.vocabulary import NotificationChannel
from shared.organisation import Organisation
from shared.outbox import add_event

SOURCE = "/qa/notifications"
IMMEDIATELY, DAILY_DIGEST = "immediately", "daily_digest"


@dataclass(frozen=True)
class NotifyContext:
    organisation: Organisation
    clock: Clock
    base_url: str
    webhook_urls: Mapping[str, str]


def on_event(session: Session, event: CloudEvent[EventData], ctx: NotifyContext) -> None:
    """Tell the right people; park the event if its audit's people are not known yet."""
    data = event.data
    people = None
    if isinstance(data, NEEDS_AUDIT_PEOPLE):
        lock_for(session, data.audit_id)  # not while another replica learns the audit's people
        row = session.get(AuditPeopleRow, data.audit_id)
        if row is None:
            if session.get(ParkedEvent, event.id) is None:
                session.add(
                    ParkedEvent(
                        event_id=event.id,
                        audit_id=data.audit_id,
                        envelope=event.model_dump(mode="json"),
                    )
                )
            return
        people = AuditPeople(**row.model_dump())
    notify(session, event, people, ctx)


def on_audit_graded(session: Session, event: CloudEvent[EventData], ctx: NotifyContext) -> None:
    """Learn the audit's people, then route whatever was waiting for them."""
    data = event.data
    if not isinstance(data, AuditGraded):
        raise TypeError(f"expected AuditGraded, got {event.type}")
    lock_for(session, data.audit_id)
    row = session.get(AuditPeopleRow, data.audit_id)
    if row is None:
        row = AuditPeopleRow(
            audit_id=data.audit_id,
            service_area=data.service_area,
            team_id=data.team_id,
            practitioner_id=data.practitioner_id,
            team_manager_id=data.team_manager_id,
            auditor_id=data.auditor_id,
        )
        session.add(row)
    parked = session.exec(select(ParkedEvent).where(ParkedEvent.audit_id == data.audit_id)).all()
    for waiting in parked:
        notify(
            session, parse_event(json.dumps(waiting.envelope)), AuditPeople(**row.model_dump()), ctx
        )
        session.delete(waiting)


def notify(
    session: Session, event: CloudEvent[EventData], people: AuditPeople | None, ctx: NotifyContext
) -> None:
    now = ctx.clock.now()
    message = compose(event.data)
    rendered = render(message, ctx.base_url)
    link = f"{ctx.base_url.rstrip('/')}{message.link_path}"
    for recipient in recipients(event.data, people, ctx.organisation):
        staff = ctx.organisation.staff_by_id.get(recipient.staff_id)
        channels = [NotificationChannel.INBOX]
        if staff is not None:
            channels.append(NotificationChannel.EMAIL)
        if webhook_for(recipient.staff_id, ctx) is not None:
            channels.append(NotificationChannel.WEBHOOK)
        digest = (
            recipient.kind is Kind.INFORMATION
            and preference_of(session, recipient.staff_id) == DAILY_DIGEST
        )
        for channel in channels:
            key = (f"{event.source}#{event.id}", recipient.staff_id, channel)
            if _exists(session, *key):
                continue
            status = (
                "delivered"
                if channel is NotificationChannel.INBOX
                else "held"
                if digest and channel is NotificationChannel.EMAIL
                else "pending"
            )
            notification = Notification(
                id=f"N-{uuid.uuid4().hex[:16]}",
                source_event_id=key[0],
                event_type=event.type,
                kind=recipient.kind,
                recipient_id=recipient.staff_id,
                channel=channel,
                case_id=event.subject,
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                link=link,
                status=status,
                event_time=event.time,
                created_at=now,
                next_attempt_at=now if status == "pending" else None,
                delivered_at=now if status == "delivered" else None,
            )
            session.add(notification)
            if status == "delivered":
                announce_delivery(session, notification, now)


def announce_delivery(session: Session, notification: Notification, now: datetime) -> None:
    delivered = NotificationDelivered(
        case_id=notification.case_id,
        notification_id=notification.id,
        source_event_id=notification.source_event_id.rsplit("#", 1)[-1][:64],
        recipient_id=notification.recipient_id,
        channel=notification.channel,
        attempts=max(1, notification.attempts),
        delivered_at=now,
    )
    add_event(session, new_event(delivered, source=SOURCE))


def preference_of(session: Session, staff_id: str) -> str:
    stored = session.get(Preference, staff_id)
    return IMMEDIATELY if stored is None else stored.information


def webhook_for(staff_id: str, ctx: NotifyContext) -> str | None:
    staff = ctx.organisation.staff_by_id.get(staff_id)
    team = staff.team if staff is not None else None
    return ctx.webhook_urls.get(staff_id) or (ctx.webhook_urls.get(team) if team else None)


def _exists(session: Session, source_event_id: str, recipient_id: str, channel: str) -> bool:
    query = select(Notification.id).where(
        Notification.source_event_id == source_event_id,
        Notification.recipient_id == recipient_id,
        Notification.channel == channel,
    )
    return session.exec(query).first() is not None
