"""The `data` payload of every event in the contract, as frozen pydantic models.

Each class names its topic and CloudEvents type; `type` is `qa.<topic>.v<N>` except for
case events, which share `case.events` and are told apart by type.
"""

from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.events import topics
from shared.events.vocabulary import (
    ActionChange,
    ActionOrigin,
    ActionStatus,
    AuditDomain,
    AuditKind,
    FollowUpAction,
    FollowUpOutcome,
    FoundBy,
    Grade,
    ModerationReason,
    NotificationChannel,
    PlanType,
    ReminderKind,
    SamplingChangeReason,
    ServiceArea,
    grade_difference,
)


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("date is out of range") from exc


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timestamp with an explicit offset, normalised to UTC; naive times are refused."""

IDENTIFIER_RULE = (
    "1 to 64 characters: letters, digits, '.', '_', ':' and '-', starting with a letter or "
    "digit. A pseudonymous id or case reference, never a name."
)
Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description=IDENTIFIER_RULE,
    ),
]
"""Ids and case references: pseudonymous tokens, never free text that could hold a name."""

WITHDRAWN_FREE_TEXT = (
    "Withdrawn: always empty. Free text stays in the service that recorded it (read it there "
    "through its API); no consumer needs it, and it may hold what a child's record holds. The "
    "field stays because v1 readers require it; v2 of this type will drop it."
)

WithdrawnTexts = Annotated[
    tuple[str, ...],
    AfterValidator(lambda _texts: ()),
    Field(description=WITHDRAWN_FREE_TEXT, json_schema_extra={"maxItems": 0, "deprecated": True}),
]
"""A required list of free text the contract no longer carries: published empty, and what an
event published before carries is dropped when it is read."""


class EventData(BaseModel):
    """Base of every event payload: immutable and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: ClassVar[str]
    event_type: ClassVar[str]

    @property
    def subject(self) -> str:
        """The CloudEvents subject and Kafka key: what the event is about."""
        raise NotImplementedError


class CaseEventData(EventData):
    """An event about one case: keyed by case id, so one case's events stay in order."""

    case_id: Identifier

    @property
    def subject(self) -> str:
        return self.case_id


# --- case management system -------------------------------------------------------------


class CaseOpened(CaseEventData):
    topic = topics.CASE_EVENTS
    event_type = "qa.case.opened.v1"
    team_id: Identifier
    practitioner_id: Identifier
    team_manager_id: Identifier
    opened_at: UtcDatetime


class CaseAllocated(CaseEventData):
    topic = topics.CASE_EVENTS
    event_type = "qa.case.allocated.v1"
    team_id: Identifier
    practitioner_id: Identifier
    team_manager_id: Identifier
    allocated_at: UtcDatetime


_SSD_NOTE = (
    "Version 2 of who holds a case, with what a quality-assurance programme needs to choose "
    "cases fairly; v1 stays valid beside it (v1 readers forbid the new fields, so adding them "
    "to v1 would break them). Field meanings follow the Standard Safeguarding Dataset "
    "(data-to-insight's ssd-data-model), named in each field's description. Ids stay "
    "pseudonymous: staff ids and case references, never a name."
)


class _CaseHeld(CaseEventData):
    """Who holds a case and on what footing (version 2): see `_SSD_NOTE`."""

    team_id: Identifier = Field(description="The allocated team (SSD invo_professional_team)")
    practitioner_id: Identifier = Field(
        description="The allocated worker's staff id (SSD invo_professional_id)"
    )
    team_manager_id: Identifier
    plan_type: PlanType = Field(
        description="What the case is: early help, child in need (SSD ssd_cin_episodes), child "
        "protection (ssd_cp_plans), child we care for (ssd_cla_episodes) or care leaver "
        "(ssd_care_leavers)"
    )
    legal_status: str | None = Field(
        default=None,
        pattern=r"^[A-Z][0-9A-Z]{0,3}$",
        description="The SSDA903 legal status code, e.g. C2 or V2 (SSD lega_legal_status)",
    )
    opened_on: date = Field(
        description="When the episode began (SSD cine_referral_date for a child in need)"
    )
    closing_on: date | None = Field(
        default=None,
        description="When the case management system plans to close the case (SSD "
        "cine_close_date); a case closing within a programme's month is not drawn",
    )


class CaseOpenedV2(_CaseHeld):
    __doc__ = "A case was opened. " + _SSD_NOTE

    topic = topics.CASE_EVENTS
    event_type = "qa.case.opened.v2"
    opened_at: UtcDatetime


class CaseAllocatedV2(_CaseHeld):
    __doc__ = (
        "Sent whenever who holds the case or its plan changes: the whole current picture. "
        + _SSD_NOTE
    )

    topic = topics.CASE_EVENTS
    event_type = "qa.case.allocated.v2"
    allocated_at: UtcDatetime


class CaseClosed(CaseEventData):
    topic = topics.CASE_EVENTS
    event_type = "qa.case.closed.v1"
    closed_at: UtcDatetime


# --- audit ------------------------------------------------------------------------------


class AuditGraded(CaseEventData):
    """An audit was recorded. Its learning points (`could_be_better_if`) are not carried: see
    the field."""

    topic = topics.AUDIT_GRADED
    event_type = "qa.audit.graded.v1"
    audit_id: Identifier
    audit_kind: AuditKind
    reaudit_of: Identifier | None
    service_area: ServiceArea
    team_id: Identifier
    area: Identifier
    practitioner_id: Identifier
    team_manager_id: Identifier
    auditor_id: Identifier
    overall_grade: Grade
    domain_grades: dict[AuditDomain, Grade]
    voice_of_child_evidenced: bool
    could_be_better_if: WithdrawnTexts
    themes: tuple[str, ...]
    graded_at: UtcDatetime

    @model_validator(mode="after")
    def _reaudit_points_at_an_audit(self) -> Self:
        if (self.audit_kind is AuditKind.REAUDIT) != (self.reaudit_of is not None):
            raise ValueError("reaudit_of is required for, and only for, audit_kind 'reaudit'")
        return self


class InadequateFound(CaseEventData):
    topic = topics.AUDIT_INADEQUATE_FOUND
    event_type = "qa.audit.inadequate-found.v1"
    audit_id: Identifier
    service_area: ServiceArea
    team_id: Identifier
    graded_at: UtcDatetime
    found_by: FoundBy


# --- moderation -------------------------------------------------------------------------


class ModerationRequested(CaseEventData):
    topic = topics.MODERATION_REQUESTED
    event_type = "qa.moderation.requested.v1"
    moderation_id: Identifier
    audit_id: Identifier
    moderator_id: Identifier
    auditor_id: Identifier
    service_area: ServiceArea
    auditor_grade: Grade
    reason: ModerationReason
    requested_at: UtcDatetime


class _ModerationOutcome(CaseEventData):
    """A moderated grade, without the moderator's rationale (see the subclasses)."""

    moderation_id: Identifier
    audit_id: Identifier
    moderator_id: Identifier
    auditor_grade: Grade
    moderated_grade: Grade
    grade_difference: int = Field(ge=-3, le=3)
    moderated_at: UtcDatetime

    @model_validator(mode="before")
    @classmethod
    def _drop_the_withdrawn_rationale(cls, data: Any) -> Any:
        """Events published before carry `rationale`; they are read without it."""
        if isinstance(data, dict) and "rationale" in data:
            return {name: value for name, value in data.items() if name != "rationale"}
        return data

    @model_validator(mode="after")
    def _difference_matches_grades(self) -> Self:
        expected = grade_difference(self.auditor_grade, self.moderated_grade)
        if self.grade_difference != expected:
            raise ValueError(f"grade_difference must be {expected} for these grades")
        return self


class ModerationCompleted(_ModerationOutcome):
    """A moderator recorded a grade. The rationale is no longer carried: it was optional, so
    leaving it out breaks no reader, and it stays in the moderation service (its record page)."""

    topic = topics.MODERATION_COMPLETED
    event_type = "qa.moderation.completed.v1"


class ModerationDisagreed(_ModerationOutcome):
    """A moderated grade differs from the auditor's. The rationale is no longer carried: it was
    optional, so leaving it out breaks no reader, and it stays in the moderation service."""

    topic = topics.MODERATION_DISAGREED
    event_type = "qa.moderation.disagreed.v1"

    @model_validator(mode="after")
    def _grades_differ(self) -> Self:
        if self.grade_difference == 0:
            raise ValueError("a disagreement needs the moderated grade to differ")
        return self


class SamplingRateChanged(EventData):
    """A service area's moderation sample rate changed, by a person or by adaptive moderation."""

    topic = topics.MODERATION_SAMPLING_RATE_CHANGED
    event_type = "qa.moderation.sampling-rate-changed.v1"
    service_area: ServiceArea
    previous_rate: float = Field(ge=0, le=1)
    new_rate: float = Field(ge=0, le=1)
    reason: SamplingChangeReason
    changed_by: Identifier | None
    disagreement_rate: float | None = Field(default=None, ge=0, le=1)
    changed_at: UtcDatetime

    @property
    def subject(self) -> str:
        return self.service_area.value


# --- scheduler --------------------------------------------------------------------------


class _FollowUpStep(CaseEventData):
    followup_id: Identifier
    audit_id: Identifier
    action: FollowUpAction
    owner_id: Identifier
    due_on: date


class FollowUpScheduled(_FollowUpStep):
    topic = topics.FOLLOWUP_SCHEDULED
    event_type = "qa.followup.scheduled.v1"
    service_area: ServiceArea
    scheduled_at: UtcDatetime


class ReminderDue(_FollowUpStep):
    topic = topics.FOLLOWUP_REMINDER_DUE
    event_type = "qa.followup.reminder-due.v1"
    reminder: ReminderKind


class FollowUpOverdue(_FollowUpStep):
    topic = topics.FOLLOWUP_OVERDUE
    event_type = "qa.followup.overdue.v1"
    escalated_to_id: Identifier
    working_days_overdue: int = Field(ge=1)


class FollowUpCompleted(_FollowUpStep):
    topic = topics.FOLLOWUP_COMPLETED
    event_type = "qa.followup.completed.v1"
    outcome: FollowUpOutcome
    reaudit_id: Identifier
    escalated_to_id: Identifier | None = None
    completed_at: UtcDatetime


class FollowUpCancelled(_FollowUpStep):
    topic = topics.FOLLOWUP_CANCELLED
    event_type = "qa.followup.cancelled.v1"
    reason: str = Field(min_length=1, max_length=500)
    cancelled_at: UtcDatetime


# --- actions ----------------------------------------------------------------------------


class _ActionFacts(CaseEventData):
    """What every event about an agreed action carries: which action, where it was agreed,
    whose it is and by when. Never what it says: that is free text, kept by the scheduler."""

    action_id: Identifier
    origin: ActionOrigin
    origin_id: Identifier
    audit_id: Identifier | None
    service_area: ServiceArea
    team_id: Identifier
    owner_id: Identifier
    due_on: date
    status: ActionStatus


class ActionAgreed(_ActionFacts):
    topic = topics.ACTION_AGREED
    event_type = "qa.action.agreed.v1"
    agreed_by: Identifier
    agreed_at: UtcDatetime


class ActionUpdated(_ActionFacts):
    """Anything but its completion: a new owner or due date, evidence, the re-audit's verdict
    (verified / not achieved), a cancellation or reopening."""

    topic = topics.ACTION_UPDATED
    event_type = "qa.action.updated.v1"
    change: ActionChange
    changed_by: Identifier
    changed_at: UtcDatetime


class ActionReminderDue(_ActionFacts):
    topic = topics.ACTION_REMINDER_DUE
    event_type = "qa.action.reminder-due.v1"
    reminder: ReminderKind


class ActionOverdue(_ActionFacts):
    topic = topics.ACTION_OVERDUE
    event_type = "qa.action.overdue.v1"
    escalated_to_id: Identifier
    working_days_overdue: int = Field(ge=1)


class ActionCompleted(_ActionFacts):
    """The owner marked it done; the re-audit will say whether it made a difference."""

    topic = topics.ACTION_COMPLETED
    event_type = "qa.action.completed.v1"
    completed_by: Identifier
    completed_at: UtcDatetime


# --- the monthly audit programme --------------------------------------------------------


class _AllocationFacts(CaseEventData):
    """What every event about a programme audit carries: which allocation of which month's
    programme, the case's team and people, its auditor and due date. Never a reason: reasons
    are free text, kept by the audit service."""

    allocation_id: Identifier
    programme_id: Identifier
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    service_area: ServiceArea
    team_id: Identifier
    practitioner_id: Identifier
    team_manager_id: Identifier
    auditor_id: Identifier
    due_on: date


class AuditAllocated(_AllocationFacts):
    """A case drawn for the month's programme (or reallocated after a decline) was given to
    an auditor. `allocated_by` is None when no person chose: the draw ran on its configured day,
    or the service reallocated the case after a decline."""

    topic = topics.AUDIT_ALLOCATED
    event_type = "qa.allocation.allocated.v1"
    allocated_by: Identifier | None
    reallocated_from: Identifier | None = None
    allocated_at: UtcDatetime


class AuditDeclined(_AllocationFacts):
    """The auditor declined the allocation (with a reason the audit service keeps); the case
    is reallocated by an AuditAllocated naming this allocation in `reallocated_from`."""

    topic = topics.AUDIT_DECLINED
    event_type = "qa.allocation.declined.v1"
    declined_at: UtcDatetime


class AuditExempted(_AllocationFacts):
    """A director or assistant director exempted the case from this month's programme."""

    topic = topics.AUDIT_EXEMPTED
    event_type = "qa.allocation.exempted.v1"
    exempted_by: Identifier
    exempted_at: UtcDatetime


class AuditSubmitted(_AllocationFacts):
    """The allocated audit was submitted: `audit_id` is its AuditGraded."""

    topic = topics.AUDIT_SUBMITTED
    event_type = "qa.allocation.submitted.v1"
    audit_id: Identifier
    submitted_at: UtcDatetime


class AuditReminderDue(_AllocationFacts):
    topic = topics.AUDIT_REMINDER_DUE
    event_type = "qa.allocation.reminder-due.v1"
    reminder: ReminderKind


class AuditOverdue(_AllocationFacts):
    """The audit is late: the auditor's line manager is told, and told again while it stays
    late, as for follow-ups."""

    topic = topics.AUDIT_OVERDUE
    event_type = "qa.allocation.overdue.v1"
    escalated_to_id: Identifier
    working_days_overdue: int = Field(ge=1)


# --- notifications ----------------------------------------------------------------------


class _NotificationOutcome(CaseEventData):
    notification_id: Identifier
    source_event_id: Identifier
    recipient_id: Identifier
    channel: NotificationChannel
    attempts: int = Field(ge=1)


class NotificationDelivered(_NotificationOutcome):
    topic = topics.NOTIFICATION_DELIVERED
    event_type = "qa.notification.delivered.v1"
    delivered_at: UtcDatetime


class NotificationFailed(_NotificationOutcome):
    topic = topics.NOTIFICATION_FAILED
    event_type = "qa.notification.failed.v1"
    reason: str = Field(min_length=1, max_length=500)
    failed_at: UtcDatetime


EVENT_DATA_CLASSES: tuple[type[EventData], ...] = (
    CaseOpened,
    CaseAllocated,
    CaseClosed,
    CaseOpenedV2,
    CaseAllocatedV2,
    AuditGraded,
    InadequateFound,
    ModerationRequested,
    ModerationCompleted,
    ModerationDisagreed,
    SamplingRateChanged,
    FollowUpScheduled,
    ReminderDue,
    FollowUpOverdue,
    FollowUpCompleted,
    FollowUpCancelled,
    ActionAgreed,
    ActionUpdated,
    ActionReminderDue,
    ActionOverdue,
    ActionCompleted,
    AuditAllocated,
    AuditDeclined,
    AuditExempted,
    AuditSubmitted,
    AuditReminderDue,
    AuditOverdue,
    NotificationDelivered,
    NotificationFailed,
)
