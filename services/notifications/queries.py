"""The notifications service's reads: inboxes and people's preferences."""

from collections.abc import Sequence

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.notifications.models import Notification, Preference
from services.notifications.routing import Information
from shared.events.vocabulary import NotificationChannel


def inbox_of(engine: Engine, staff_id: str) -> list[Notification]:
    """A person's inbox items, newest first."""
    with Session(engine) as session:
        query = (
            select(Notification)
            .where(
                Notification.recipient_id == staff_id,
                Notification.channel == NotificationChannel.INBOX,
            )
            .order_by(col(Notification.created_at).desc())
        )
        return list(session.exec(query).all())


def preferences_of(session: Session, staff_ids: Sequence[str]) -> dict[str, Information]:
    """The stored preferences of those who have one (the rest want information immediately)."""
    query = select(Preference).where(col(Preference.staff_id).in_(staff_ids))
    return {stored.staff_id: Information(stored.information) for stored in session.exec(query)}


def information_of(engine: Engine, staff_id: str) -> Information:
    with Session(engine) as session:
        return preferences_of(session, [staff_id]).get(staff_id, Information.IMMEDIATELY)
