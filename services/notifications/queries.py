"""The notifications service's reads: inboxes and people's preferences."""

from collections.abc import Sequence

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.notifications.models import Notification, Preference
from services.notifications.routing import Information
from shared.events.vocabulary import NotificationChannel
from shared.paging import PageQuery, one_page


def _inbox(staff_id: str) -> SelectOfScalar[Notification]:
    return select(Notification).where(
        Notification.recipient_id == staff_id, Notification.channel == NotificationChannel.INBOX
    )


def inbox_of(engine: Engine, staff_id: str, paging: PageQuery) -> list[Notification]:
    """One page of a person's inbox items, newest first."""
    ordered = _inbox(staff_id).order_by(
        col(Notification.created_at).desc(), col(Notification.id).desc()
    )
    with Session(engine) as session:
        return list(session.exec(one_page(ordered, paging)).all())


def unread_count(engine: Engine, staff_id: str) -> int:
    """How many of a person's inbox items are unread, on every page."""
    unread = _inbox(staff_id).where(col(Notification.read_at).is_(None)).subquery()
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(unread)).one()


def preferences_of(session: Session, staff_ids: Sequence[str] | None) -> dict[str, Information]:
    """The stored preferences of those who have one (the rest want information immediately);
    everyone's (one row at most per member of staff) when `staff_ids` is None."""
    query = select(Preference)
    if staff_ids is not None:
        query = query.where(col(Preference.staff_id).in_(staff_ids))
    return {stored.staff_id: Information(stored.information) for stored in session.exec(query)}


def information_of(engine: Engine, staff_id: str) -> Information:
    with Session(engine) as session:
        return preferences_of(session, [staff_id]).get(staff_id, Information.IMMEDIATELY)
