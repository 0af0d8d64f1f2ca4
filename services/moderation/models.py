"""The moderation service's tables."""

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

from shared.db import timestamp_field


class Moderation(SQLModel, table=True):
    __tablename__ = "moderations"

    id: str = Field(primary_key=True, max_length=64)
    audit_id: str = Field(unique=True, max_length=64)
    case_id: str = Field(max_length=64)
    service_area: str = Field(index=True, max_length=64)
    team_id: str = Field(max_length=64)
    auditor_id: str = Field(max_length=64)
    team_manager_id: str = Field(max_length=64)
    moderator_id: str = Field(index=True, max_length=64)
    reason: str = Field(max_length=32)
    auditor_grade: str = Field(max_length=32)
    audit_graded_at: datetime = timestamp_field()
    status: str = Field(index=True, max_length=16, default="open")
    requested_at: datetime = timestamp_field(default_factory=lambda: datetime.now(UTC))
    moderated_grade: str | None = Field(default=None, max_length=32)
    grade_difference: int | None = None
    rationale: str | None = None
    moderated_at: datetime | None = timestamp_field(default=None, index=True)
    request_id: str | None = Field(default=None, max_length=128)


class SamplingRate(SQLModel, table=True):
    """A service area's sample rate once somebody (or adaptive moderation) has set it."""

    __tablename__ = "sampling_rates"

    service_area: str = Field(primary_key=True, max_length=64)
    rate: float
    reason: str = Field(max_length=16)
    changed_by: str | None = Field(default=None, max_length=64)
    changed_at: datetime = timestamp_field()
