"""A tiny effect table for exercising the shared machinery: one row per handled event."""

import asyncio
from http import HTTPStatus
from typing import Any

from sqlmodel import Field, Session, SQLModel

from shared.events import CloudEvent, new_event, topics
from shared.events.data import EventData
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


CASE_MANAGEMENT_SOURCE = "/case-management"
"""CASE_MANAGEMENT_SOURCE as the services run in tests (the default): the only writer of case
events."""


def producer_source(data: EventData) -> str:
    """A source the contract lets write `data`'s topic (shared.events.trust)."""
    producer = sorted(topics.PRODUCERS[data.topic])[0]
    if producer == topics.CASE_MANAGEMENT:
        return CASE_MANAGEMENT_SOURCE
    return topics.service_source(producer)


def from_producer(data: EventData, **options: Any) -> CloudEvent[Any]:
    """`data` in a fresh envelope from a producer of its topic, as a consumer believes it."""
    return new_event(data, source=producer_source(data), **options)


async def post_once_known(client: Any, url: str, **request: Any) -> Any:
    """POST, asking again while the service answers that a fact it needs has not reached it yet.

    Events on different topics arrive in any order (an audit's grading may come after its
    Inadequate finding), and the service says so with a 409 that asking again later will clear,
    as a person would."""
    for _ in range(100):
        answer = await client.post(url, **request)
        if answer.status_code != 409 or "has not reached" not in answer.text:
            return answer
        await asyncio.sleep(0.1)
    return answer


def problem_document(
    status: int, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The RFC 9457 body every error answer has (shared.errors), field by field."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    return body | ({"errors": errors} if errors is not None else {})
