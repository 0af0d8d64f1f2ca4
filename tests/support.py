"""A tiny effect table for exercising the shared machinery: one row per handled event."""

from sqlmodel import Field, Session, SQLModel

from shared.events import CloudEvent, new_event
from shared.outbox import add_event
from tests.factories import audit_graded


class Receipt(SQLModel, table=True):
    __tablename__ = "test_receipts"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str
    case_id: str


def record_receipt(session: Session, event: CloudEvent) -> None:
    """A handler whose effect is visible: a receipt row plus a follow-on event in the outbox."""
    session.add(Receipt(event_id=event.id, case_id=event.subject))
    add_event(session, new_event(audit_graded(event.subject), source="/qa/tests"))


def receipts(session: Session) -> list[Receipt]:
    from sqlmodel import select

    return list(session.exec(select(Receipt)).all())
