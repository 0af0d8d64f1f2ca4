"""Turning events into notifications: one per event, person and channel, whatever the repeats.

Also the inbox's and the preferences' changes asked for over HTTP. Who is told, on which
channels and in which status is decided in `routing`; here rows are loaded and saved.
"""

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.notifications.context import DELIVERIES, NotifyContext, announce_delivery
from services.notifications.messages import Rendered, compose, render
from services.notifications.models import AuditPeopleRow, Notification, ParkedEvent, Preference
from services.notifications.queries import preferences_of
from services.notifications.routing import (
    NEEDS_AUDIT_PEOPLE,
    AuditPeople,
    Delivery,
    Information,
    Status,
    deliveries,
    recipients,
)
from shared.auth import Forbidden
from shared.db import (
    lock_all,
    lock_for,
    once_per_transaction,
    read_ahead,
    read_rows_ahead,
    row_read_ahead,
    transaction,
)
from shared.errors import NotFound
from shared.events import AuditGraded, CloudEvent, EventData, parse_event
from shared.events.vocabulary import NotificationChannel
from shared.wakeup import wake_after_commit


def on_event(session: Session, event: CloudEvent[EventData], ctx: NotifyContext) -> None:
    """Tell the right people; park the event if its audit's people are not known yet."""
    data = event.data
    people = None
    if isinstance(data, NEEDS_AUDIT_PEOPLE):
        lock_for(session, data.audit_id)  # not while another replica learns the audit's people
        row = _people_of(session, data.audit_id)
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
    """Tell the practitioner the outcome, learn the audit's people, then route whatever was
    waiting for them."""
    data = event.data
    if not isinstance(data, AuditGraded):
        raise TypeError(f"expected AuditGraded, got {event.type}")
    lock_for(session, data.audit_id)
    row = _people_of(session, data.audit_id)
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
    notify(session, event, None, ctx)
    parked = session.exec(select(ParkedEvent).where(ParkedEvent.audit_id == data.audit_id)).all()
    for waiting in parked:
        notify(
            session, parse_event(json.dumps(waiting.envelope)), AuditPeople(**row.model_dump()), ctx
        )
        session.delete(waiting)


def notify(
    session: Session, event: CloudEvent[EventData], people: AuditPeople | None, ctx: NotifyContext
) -> None:
    """Make each notification routing decides on that was not made for this event before."""
    found = recipients(event.data, people, ctx.organisation)
    # Changed only by people through the API: read once for a batch of events.
    preferences = once_per_transaction(
        session, "preferences", lambda: preferences_of(session, None)
    )
    now = ctx.clock.now()
    worded = {kind: compose(event.data, kind) for kind in {r.kind for r in found}}
    rendered = {kind: render(message, ctx.base_url) for kind, message in worded.items()}
    base = ctx.base_url.rstrip("/")
    made = _made_before(session, _source_event_id(event))
    for delivery in deliveries(found, ctx.organisation, ctx.webhook_urls, preferences):
        if (delivery.staff_id, delivery.channel) in made:
            continue
        link = f"{base}{worded[delivery.kind].link_path}"
        notification = _notification(event, delivery, rendered[delivery.kind], link, now)
        session.add(notification)
        if delivery.status is Status.DELIVERED:
            announce_delivery(session, notification, now)
        if delivery.status is Status.PENDING:
            wake_after_commit(session, DELIVERIES)  # sent the moment this commits


def _source_event_id(event: CloudEvent[EventData]) -> str:
    return f"{event.source}#{event.id}"


def _notification(
    event: CloudEvent[EventData], delivery: Delivery, rendered: Rendered, link: str, now: datetime
) -> Notification:
    return Notification(
        id=f"N-{uuid.uuid4().hex[:16]}",
        source_event_id=_source_event_id(event),
        event_type=event.type,
        kind=delivery.kind,
        recipient_id=delivery.staff_id,
        channel=delivery.channel,
        case_id=event.subject,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        link=link,
        status=delivery.status,
        event_time=event.time,
        created_at=now,
        next_attempt_at=now if delivery.status is Status.PENDING else None,
        delivered_at=now if delivery.status is Status.DELIVERED else None,
    )


def _made_before(session: Session, source_event_id: str) -> set[tuple[str, str]]:
    """To whom, on which channel, the event's notifications were made already (one query for
    all its deliveries)."""
    return read_ahead(session).take(
        (Notification, source_event_id),
        lambda: _made_for(session, [source_event_id])[source_event_id],
    )


def _made_for(session: Session, sources: Sequence[str]) -> dict[str, set[tuple[str, str]]]:
    made: dict[str, set[tuple[str, str]]] = {source: set() for source in sources}
    query = select(
        Notification.source_event_id, Notification.recipient_id, Notification.channel
    ).where(col(Notification.source_event_id).in_(sources))
    for source, recipient, channel in session.exec(query):
        made[source].add((recipient, channel))
    return made


def _people_of(session: Session, audit_id: str) -> AuditPeopleRow | None:
    return row_read_ahead(session, AuditPeopleRow, "audit_id", audit_id)


def read_events_ahead(session: Session, events: Sequence[CloudEvent[EventData]]) -> None:
    """For a batch of events, before any is handled (shared.inbox `reads_ahead`): the locks
    and people of the audits they are about, and the notifications made for each already, a
    statement each for all of them."""
    audits = [
        (event, event.data.audit_id)
        for event in events
        if isinstance(event.data, (*NEEDS_AUDIT_PEOPLE, AuditGraded))
    ]
    lock_all(session, [audit_id for _, audit_id in audits])
    read_rows_ahead(session, AuditPeopleRow, "audit_id", audits)
    ahead = read_ahead(session)
    made = _made_for(session, [_source_event_id(event) for event in events])
    for event in events:
        source = _source_event_id(event)
        ahead.keep(event, (Notification, source), made[source])


def mark_read(
    engine: Engine, notification_id: str, reader_id: str, ctx: NotifyContext
) -> Notification:
    """Mark one's own inbox item read (once: the first reading's time stays)."""
    with transaction(engine) as session:
        found = session.get(Notification, notification_id)
        if found is None or found.channel != NotificationChannel.INBOX:
            raise NotFound(f"no inbox item {notification_id!r}")
        if found.recipient_id != reader_id:
            raise Forbidden("this inbox item is someone else's")
        if found.read_at is None:
            found.read_at = ctx.clock.now()
            session.add(found)
        return found


def set_preference(engine: Engine, staff_id: str, information: Information) -> None:
    with transaction(engine) as session:
        stored = session.get(Preference, staff_id) or Preference(
            staff_id=staff_id, information=information
        )
        stored.information = information
        session.add(stored)
