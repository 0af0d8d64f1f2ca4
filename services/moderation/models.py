"""The moderation service's tables, and how their rows map to the domain's values."""

from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from services.moderation import domain
from services.moderation.sampling import StoredRate
from shared.db import timestamp_field
from shared.events.vocabulary import Grade, ModerationReason, SamplingChangeReason, ServiceArea


class Moderation(SQLModel, table=True):
    __tablename__ = "moderations"
    # Reads that must not grow with history (migration 0006 says which read uses which).
    __table_args__ = (
        Index(
            "ix_moderations_grade_pairs",
            "status",
            "moderated_at",
            "service_area",
            "auditor_grade",
            "moderated_grade",
        ),
        Index(
            "ix_moderations_area_latest",
            "service_area",
            "status",
            "moderated_at",
            "id",
            "grade_difference",
        ),
        Index("ix_moderations_moderator_queue", "status", "moderator_id", "requested_at", "id"),
        Index("ix_moderations_queue", "status", "requested_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    audit_id: str = Field(unique=True, max_length=64)
    case_id: str = Field(max_length=64)
    service_area: str = Field(index=True, max_length=64)
    team_id: str = Field(max_length=64)
    auditor_id: str = Field(max_length=64)
    team_manager_id: str = Field(max_length=64)
    practitioner_id: str | None = Field(default=None, max_length=64)
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
    outstanding_practice: bool = False
    """Flagged by the moderator as outstanding practice (False while open)."""

    @classmethod
    def of(cls, moderation: domain.Moderation) -> "Moderation":
        return cls.model_validate(columns(moderation))

    def write(self, moderation: domain.Moderation) -> None:
        """Make this row say what `moderation` says."""
        for name, value in columns(moderation).items():
            setattr(self, name, value)

    def to_domain(self) -> domain.Moderation:
        return domain.Moderation(
            id=self.id,
            audit_id=self.audit_id,
            case_id=self.case_id,
            service_area=ServiceArea(self.service_area),
            team_id=self.team_id,
            auditor_id=self.auditor_id,
            team_manager_id=self.team_manager_id,
            practitioner_id=self.practitioner_id,
            moderator_id=self.moderator_id,
            reason=ModerationReason(self.reason),
            auditor_grade=Grade(self.auditor_grade),
            audit_graded_at=self.audit_graded_at,
            requested_at=self.requested_at,
            outcome=self._outcome(),
        )

    def _outcome(self) -> domain.Outcome | None:
        if self.status != domain.ModerationStatus.COMPLETED:
            return None
        if self.moderated_grade is None or self.grade_difference is None or not self.moderated_at:
            raise ValueError(f"completed moderation {self.id} has no moderated grade")
        return domain.Outcome(
            moderated_grade=Grade(self.moderated_grade),
            grade_difference=self.grade_difference,
            rationale=self.rationale,
            moderated_at=self.moderated_at,
            request_id=self.request_id,
            outstanding_practice=self.outstanding_practice,
        )


def columns(moderation: domain.Moderation) -> dict[str, Any]:
    """The row's columns of a domain moderation; an open one has no outcome columns yet."""
    m, outcome = moderation, moderation.outcome
    recorded = _NO_OUTCOME if outcome is None else asdict(outcome)
    return {
        "id": m.id,
        "audit_id": m.audit_id,
        "case_id": m.case_id,
        "service_area": m.service_area.value,
        "team_id": m.team_id,
        "auditor_id": m.auditor_id,
        "team_manager_id": m.team_manager_id,
        "practitioner_id": m.practitioner_id,
        "moderator_id": m.moderator_id,
        "reason": m.reason.value,
        "auditor_grade": m.auditor_grade.value,
        "audit_graded_at": m.audit_graded_at,
        "status": m.status.value,
        "requested_at": m.requested_at,
        **recorded,
    }


_OUTCOME_COLUMNS = tuple(field.name for field in fields(domain.Outcome))
_NO_OUTCOME = dict.fromkeys(_OUTCOME_COLUMNS) | {"outstanding_practice": False}


class SamplingRate(SQLModel, table=True):
    """A service area's sample rate once somebody (or adaptive moderation) has set it."""

    __tablename__ = "sampling_rates"

    service_area: str = Field(primary_key=True, max_length=64)
    rate: float
    reason: str = Field(max_length=16)
    changed_by: str | None = Field(default=None, max_length=64)
    changed_at: datetime = timestamp_field()

    def to_domain(self) -> StoredRate:
        return StoredRate(self.rate, SamplingChangeReason(self.reason), self.changed_at)
