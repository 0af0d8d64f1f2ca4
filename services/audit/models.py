"""The audit service's tables."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import timestamp_field


def _now() -> datetime:
    return datetime.now(UTC)


class Audit(SQLModel, table=True):
    __tablename__ = "audits"
    # For the statistics (migration 0008): grade counts by month and group from the index alone.
    __table_args__ = (
        Index(
            "ix_audits_graded_at_grade_groups",
            "graded_at",
            "overall_grade",
            "service_area",
            "area",
            "team_id",
        ),
        Index("ix_audits_audit_kind_graded_at", "audit_kind", "graded_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(index=True, max_length=64)
    audit_kind: str = Field(index=True, max_length=32)
    reaudit_of: str | None = Field(default=None, max_length=64)
    service_area: str = Field(index=True, max_length=64)
    team_id: str = Field(index=True, max_length=64)
    area: str = Field(index=True, max_length=64)
    practitioner_id: str = Field(index=True, max_length=64)
    team_manager_id: str = Field(index=True, max_length=64)
    auditor_id: str = Field(index=True, max_length=64)
    overall_grade: str = Field(index=True, max_length=32)
    domain_grades: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    voice_of_child_evidenced: bool
    voice_of_child_note: str | None = None
    could_be_better_if: list[str] = Field(sa_column=Column(JSON, nullable=False))
    themes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    graded_at: datetime = timestamp_field(index=True)
    recorded_at: datetime = timestamp_field(default_factory=_now)


class MonthGradeCount(SQLModel, table=True):
    """How many audits of a UK month and team were graded `grade`, overall or in one domain.

    What the board's figures read (services.audit.month_counts), kept in the transaction that
    records or purges an audit. Counts only: no case, no person; month first for the span.
    """

    __tablename__ = "audit_month_grades"

    month: str = Field(primary_key=True, max_length=7)
    service_area: str = Field(primary_key=True, max_length=64)
    area: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(primary_key=True, max_length=64)
    counted: str = Field(primary_key=True, max_length=32)
    """`overall` (the overall grade) or the domain whose grade is counted."""
    grade: str = Field(primary_key=True, max_length=32)
    audits: int


class MonthThemeCount(SQLModel, table=True):
    """How many audits of a UK month and team were tagged with `theme` (each audit once)."""

    __tablename__ = "audit_month_themes"

    month: str = Field(primary_key=True, max_length=7)
    service_area: str = Field(primary_key=True, max_length=64)
    area: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(primary_key=True, max_length=64)
    theme: str = Field(primary_key=True, max_length=64)
    audits: int


class SubmissionKey(SQLModel, table=True):
    """A caller's idempotency key and the audit its first submission created.

    Keys belong to the caller who sent them: another caller's same key is another audit, so
    nobody can take a key first to hide someone else's submission.
    """

    __tablename__ = "caller_submission_keys"

    caller_id: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=128)
    fingerprint: str = Field(max_length=64)
    audit_id: str = Field(max_length=64)
    created_at: datetime = timestamp_field(default_factory=_now)


class RegisteredCase(SQLModel, table=True):
    """The case register: who holds each case, as the case management system last told us."""

    __tablename__ = "case_register"

    case_id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=64)
    practitioner_id: str = Field(max_length=64)
    team_manager_id: str = Field(max_length=64)
    open: bool = True
    as_of: datetime = timestamp_field()
    """When the latest case event happened (what `open` follows)."""
    allocated_as_of: datetime | None = timestamp_field(default=None)
    """When the latest opening or allocation happened (what the people and facts follow)."""
    service_area: str | None = Field(default=None, max_length=64)
    """The service area of `team_id` in the organisation file when the holder was registered."""
    plan_type: str | None = Field(default=None, max_length=32)
    legal_status: str | None = Field(default=None, max_length=8)
    opened_on: date | None = None
    closing_on: date | None = None


class AuditModerator(SQLModel, table=True):
    """A moderator assigned to an audit, as ModerationRequested said: they may see the audit."""

    __tablename__ = "audit_moderators"

    audit_id: str = Field(primary_key=True, max_length=64)
    moderator_id: str = Field(primary_key=True, index=True, max_length=64)
    moderation_id: str = Field(max_length=64)


class ReauditAssignmentRow(SQLModel, table=True):
    """The follow-up of an audit as the scheduler last announced it (services.audit.reaudit)."""

    __tablename__ = "reaudit_assignments"

    audit_id: str = Field(primary_key=True, max_length=64)
    followup_id: str = Field(max_length=64)
    step: str = Field(max_length=32)
    owner_id: str = Field(max_length=64)
    open: bool
    as_of: datetime = timestamp_field()


class ProgrammeRow(SQLModel, table=True):
    """A month's audit programme: its parameters, seed and what the draw found (one a month)."""

    __tablename__ = "audit_programmes"
    __table_args__ = (UniqueConstraint("month", name="uq_audit_programmes_month"),)

    id: str = Field(primary_key=True, max_length=64)
    month: str = Field(max_length=7)
    size: int
    minimum_per_team: int
    seed: int = Field(sa_type=BigInteger)
    due_on: date
    drawn_at: datetime = timestamp_field()
    drawn_by: str | None = Field(default=None, max_length=64)
    """None when the draw ran on its configured day."""
    open_cases: int
    eligible_cases: int
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    teams: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    """Per team: team_id, open_cases, eligible_cases, quota, drawn."""
    unallocated: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    """Drawn cases nobody could take: case_id, team_id, reason."""


class AllocationRow(SQLModel, table=True):
    """One programme audit: a drawn case, its auditor, and where the audit stands."""

    __tablename__ = "audit_allocations"

    id: str = Field(primary_key=True, max_length=64)
    programme_id: str = Field(index=True, max_length=64)
    month: str = Field(index=True, max_length=7)
    case_id: str = Field(index=True, max_length=64)
    service_area: str = Field(index=True, max_length=64)
    team_id: str = Field(index=True, max_length=64)
    practitioner_id: str = Field(index=True, max_length=64)
    team_manager_id: str = Field(index=True, max_length=64)
    auditor_id: str = Field(index=True, max_length=64)
    status: str = Field(index=True, max_length=32)
    due_on: date
    why_case: str = Field(sa_column=Column(Text, nullable=False))
    why_auditor: str = Field(sa_column=Column(Text, nullable=False))
    allocated_at: datetime = timestamp_field()
    allocated_by: str | None = Field(default=None, max_length=64)
    reallocated_from: str | None = Field(default=None, max_length=64)
    reallocated_to: str | None = Field(default=None, max_length=64)
    audit_id: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Why it was declined or exempted."""
    exempted_by: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = timestamp_field(default=None)
    """When it was submitted, declined or exempted."""
    draft: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    draft_saved_at: datetime | None = timestamp_field(default=None)
    took_part: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ReflectionRow(SQLModel, table=True):
    """What the practitioner, the team manager or the auditor added to a programme audit."""

    __tablename__ = "allocation_reflections"

    id: int | None = Field(default=None, primary_key=True)
    allocation_id: str = Field(index=True, max_length=64)
    by: str = Field(max_length=64)
    role: str = Field(max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = timestamp_field()
