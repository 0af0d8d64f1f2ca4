"""The notifications service's tables."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import timestamp_field


class Notification(SQLModel, table=True):
    """One message to one person on one channel; unique per source event, person and channel."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("source_event_id", "recipient_id", "channel"),
        # the delivery worker's claim and its "when is the next one due" look-up
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=64)
    source_event_id: str = Field(max_length=160)
    event_type: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # action, information
    recipient_id: str = Field(index=True, max_length=64)
    channel: str = Field(max_length=16)  # email, inbox, webhook
    case_id: str = Field(max_length=64)
    subject: str
    body_text: str
    body_html: str
    link: str
    # a routing.Status: pending -> delivered | failed; held (for the digest) -> digested
    status: str = Field(index=True, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = timestamp_field(default=None, index=True)
    last_error: str | None = None
    event_time: datetime = timestamp_field()
    created_at: datetime = timestamp_field()
    delivered_at: datetime | None = timestamp_field(default=None)
    read_at: datetime | None = timestamp_field(default=None)
    digest_id: str | None = Field(default=None, max_length=64)


class Preference(SQLModel, table=True):
    __tablename__ = "preferences"

    staff_id: str = Field(primary_key=True, max_length=64)
    information: str = Field(max_length=16)  # immediately, daily_digest


class AuditPeopleRow(SQLModel, table=True):
    """The people of each audit, from AuditGraded: routing needs them for some events."""

    __tablename__ = "audit_people"

    audit_id: str = Field(primary_key=True, max_length=64)
    service_area: str = Field(max_length=64)
    team_id: str = Field(max_length=64)
    practitioner_id: str = Field(max_length=64)
    team_manager_id: str = Field(max_length=64)
    auditor_id: str = Field(max_length=64)


class ParkedEvent(SQLModel, table=True):
    """An event that arrived before its audit's AuditGraded; routed when that comes."""

    __tablename__ = "parked_events"

    event_id: str = Field(primary_key=True, max_length=160)
    audit_id: str = Field(index=True, max_length=64)
    envelope: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
