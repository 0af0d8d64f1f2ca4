"""The scheduler's tables: follow-ups, their timelines, agreed actions, programme allocations,
durable timers, and facts it learns."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, Index, UniqueConstraint, and_, not_
from sqlmodel import Field, SQLModel, col

from shared.db import timestamp_field


class FollowUp(SQLModel, table=True):
    """One Inadequate finding's follow-up: the conversation, then the re-audit."""

    __tablename__ = "followups"

    id: str = Field(primary_key=True, max_length=64)
    audit_id: str = Field(unique=True, max_length=64)
    case_id: str = Field(max_length=64)
    service_area: str = Field(index=True, max_length=64)
    team_id: str = Field(max_length=64)
    found_by: str = Field(max_length=16)
    grading_day: date = Field(index=True)  # /stats/timeliness reads the months asked for
    status: str = Field(index=True, max_length=16)  # open, completed, cancelled
    step: str = Field(max_length=32)  # reflective_conversation, reaudit
    owner_id: str = Field(index=True, max_length=64)
    due_on: date
    conversation_due_on: date
    conversation_held_on: date | None = None
    conversation_late: bool | None = None
    attendees: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    agreed_actions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reaudit_due_on: date | None = None
    reaudit_id: str | None = Field(default=None, max_length=64)
    reaudit_graded_on: date | None = None
    outcome: str | None = Field(default=None, max_length=32)
    cancelled_reason: str | None = None
    opened_at: datetime = timestamp_field()
    closed_at: datetime | None = timestamp_field(default=None)


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "followup_timeline"

    id: int | None = Field(default=None, primary_key=True)
    followup_id: str = Field(index=True, max_length=64)
    at: datetime = timestamp_field()
    what: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Timer(SQLModel, table=True):
    """A reminder or escalation due at `fire_at`; fired once, whatever the replicas or restarts.

    An agreed action's timers are rows here too, on its follow-up (`followup_id`, so the pass
    takes the same audit lock) with `step` "action" and the action's id; a follow-up's own
    timers have `action_id` "". A programme allocation's timers have `step` "allocation", its
    id in `allocation_id` and `followup_id` "" (it has no follow-up); everyone else's have
    `allocation_id` "". The subject columns are "" rather than NULL so that the unique key
    holds for every kind (NULLs never compare equal).
    """

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint(
            "followup_id",
            "step",
            "kind",
            "sequence",
            "action_id",
            "allocation_id",
            name="timers_subject_step_kind_sequence_key",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    followup_id: str = Field(max_length=64)
    step: str = Field(max_length=32)
    action_id: str = Field(default="", index=True, max_length=64)
    allocation_id: str = Field(default="", index=True, max_length=64)
    kind: str = Field(max_length=32)
    sequence: int = 0
    fire_at: datetime = timestamp_field(index=True)
    fired_at: datetime | None = timestamp_field(default=None)
    cancelled: bool = False


def still_due() -> tuple[ColumnElement[bool], ...]:
    """A timer neither fired nor cancelled: the condition of `ix_timers_still_due`, which the
    queries of timers still to fire must state as it is written here (a partial index is used
    only by a query that states its condition)."""
    return (col(Timer.fired_at).is_(None), not_(col(Timer.cancelled)))


# The timers still to fire, soonest first: the due-timer scan and the look-up of the next one
# read one end of it, not the fired and cancelled timers kept as history (migration 0008).
Index(
    "ix_timers_still_due",
    col(Timer.fire_at),
    col(Timer.id),
    postgresql_where=and_(*still_due()),
    sqlite_where=and_(*still_due()),
)


class AuditFact(SQLModel, table=True):
    """What the scheduler needs of every graded audit: its people, and what it re-audits."""

    __tablename__ = "audit_facts"

    audit_id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(max_length=64)
    auditor_id: str = Field(max_length=64)
    # The case's people may see the follow-up; None for audits learnt before they were kept.
    practitioner_id: str | None = Field(default=None, max_length=64)
    team_manager_id: str | None = Field(default=None, max_length=64)
    overall_grade: str = Field(max_length=32)
    reaudit_of: str | None = Field(default=None, index=True, max_length=64)
    graded_at: datetime = timestamp_field()


class ModerationFact(SQLModel, table=True):
    """A moderated grade, kept so that its order against InadequateFound does not matter."""

    __tablename__ = "moderation_facts"

    audit_id: str = Field(primary_key=True, max_length=64)
    moderation_id: str = Field(max_length=64)
    moderated_grade: str = Field(max_length=32)
    moderated_at: datetime = timestamp_field()


class ModeratorFact(SQLModel, table=True):
    """A moderator assigned to an audit (ModerationRequested): they may see its follow-up."""

    __tablename__ = "moderator_facts"

    audit_id: str = Field(primary_key=True, max_length=64)
    moderator_id: str = Field(primary_key=True, index=True, max_length=64)
    moderation_id: str = Field(max_length=64)


class RefusedReauditRecord(SQLModel, table=True):
    """A re-audit that did not complete its follow-up (services.scheduler.reaudits), kept as
    the evidence a manager reviews."""

    __tablename__ = "refused_reaudits"

    audit_id: str = Field(primary_key=True, max_length=64)
    followup_id: str = Field(index=True, max_length=64)
    auditor_id: str = Field(max_length=64)
    reason: str = Field(max_length=32)
    refused_at: datetime = timestamp_field()


class ActionRecord(SQLModel, table=True):
    """An agreed action: what, whose, by when, where it stands, its evidence and history.

    `origin`/`origin_id` name what it was agreed in (a follow-up today), so later origins need
    no new columns. `evidence` and `history` are lists of {note|what, by, at}, appended only.
    """

    __tablename__ = "actions"

    id: str = Field(primary_key=True, max_length=64)
    origin: str = Field(max_length=16)
    origin_id: str = Field(index=True, max_length=64)
    audit_id: str | None = Field(default=None, max_length=64)
    case_id: str = Field(index=True, max_length=64)
    service_area: str = Field(index=True, max_length=64)
    team_id: str = Field(max_length=64)
    position: int = 0
    what: str = Field(max_length=500)
    owner_id: str = Field(index=True, max_length=64)
    due_on: date
    status: str = Field(index=True, max_length=16)
    status_reason: str | None = Field(default=None, max_length=500)
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    history: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    agreed_by: str = Field(max_length=64)
    agreed_at: datetime = timestamp_field(index=True)  # /stats/actions reads its months
    done_on: date | None = None
    reaudit_id: str | None = Field(default=None, max_length=64)


class ActionRequest(SQLModel, table=True):
    """A change request already applied to an action: the same `request_id` again replays."""

    __tablename__ = "action_requests"

    request_id: str = Field(primary_key=True, max_length=128)
    action_id: str = Field(index=True, max_length=64)
    origin_id: str = Field(index=True, max_length=64)
    at: datetime = timestamp_field()


class AllocationRecord(SQLModel, table=True):
    """A programme audit allocated to an auditor, as far as its deadline goes: the facts its
    events carry, and whether the audit is still awaited (services.scheduler.allocations).

    `allocated_at` is None while only its settlement is known; `settled_at` is when it was
    submitted, declined or exempted (the audit service's time).
    """

    __tablename__ = "allocations"

    id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(index=True, max_length=64)
    programme_id: str = Field(max_length=64)
    month: str = Field(max_length=7)
    service_area: str = Field(max_length=64)
    team_id: str = Field(max_length=64)
    practitioner_id: str = Field(max_length=64)
    team_manager_id: str = Field(max_length=64)
    auditor_id: str = Field(index=True, max_length=64)
    due_on: date
    status: str = Field(index=True, max_length=16)
    allocated_at: datetime | None = timestamp_field(default=None)
    settled_at: datetime | None = timestamp_field(default=None)
    audit_id: str | None = Field(default=None, max_length=64)
