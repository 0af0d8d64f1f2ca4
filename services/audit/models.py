"""The audit service's tables."""

from datetime import UTC, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from shared.db import timestamp_field


def _now() -> datetime:
    return datetime.now(UTC)


class Audit(SQLModel, table=True):
    __tablename__ = "audits"

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
    """When the latest opening or allocation happened (what the people follow)."""


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
