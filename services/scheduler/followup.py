"""A follow-up as the rules see it: its status and step, who owns it, who hears when it goes wrong.

Pure: values in, values out. `advance` is the only place a status or step changes; every
decision in services/scheduler/decisions.py goes through it.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from shared.errors import Conflict
from shared.events.vocabulary import FollowUpAction, FollowUpOutcome, FoundBy, Grade, ServiceArea
from shared.organisation import ServiceAreaLeads


class FollowUpStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Happened(StrEnum):
    """What can move a follow-up on."""

    CONVERSATION_HELD = "conversation_held"
    REAUDITED = "reaudited"
    OVERTURNED = "overturned"


@dataclass(frozen=True)
class Stage:
    status: FollowUpStatus
    step: FollowUpAction


def advance(stage: Stage, happened: Happened) -> Stage:
    """The stage after `happened`: the conversation leads to the re-audit, a re-audit completes,
    an overturning moderation cancels; a closed follow-up stays as it is."""
    if stage.status is not FollowUpStatus.OPEN:
        return stage
    if happened is Happened.CONVERSATION_HELD:
        if stage.step is FollowUpAction.REFLECTIVE_CONVERSATION:
            return Stage(FollowUpStatus.OPEN, FollowUpAction.REAUDIT)
        return stage
    if happened is Happened.REAUDITED:
        return replace(stage, status=FollowUpStatus.COMPLETED)
    return replace(stage, status=FollowUpStatus.CANCELLED)


@dataclass(frozen=True)
class FollowUpState:
    """One Inadequate finding's follow-up: the conversation, then the re-audit."""

    id: str
    audit_id: str
    case_id: str
    service_area: ServiceArea
    team_id: str
    found_by: FoundBy
    grading_day: date
    status: FollowUpStatus
    step: FollowUpAction
    owner_id: str
    due_on: date
    conversation_due_on: date
    opened_at: datetime
    conversation_held_on: date | None = None
    conversation_late: bool | None = None
    attendees: tuple[str, ...] = ()
    agreed_actions: tuple[str, ...] = ()
    reaudit_due_on: date | None = None
    reaudit_id: str | None = None
    reaudit_graded_on: date | None = None
    outcome: FollowUpOutcome | None = None
    cancelled_reason: str | None = None
    closed_at: datetime | None = None

    @property
    def stage(self) -> Stage:
        return Stage(self.status, self.step)

    def at(self, stage: Stage, **changes: Any) -> "FollowUpState":
        """This follow-up moved to `stage` (from `advance`), with other fields changed too."""
        return replace(self, status=stage.status, step=stage.step, **changes)


class NotYetKnown(Conflict):
    """A fact the step needs has not reached the scheduler yet; asking again later will work."""


def owner_of(step: FollowUpAction, leads: ServiceAreaLeads, auditor_id: str | None) -> str:
    """The conversation is owned by the area's Head of Service, the re-audit by the auditor."""
    if step is FollowUpAction.REFLECTIVE_CONVERSATION:
        return leads.head_of_service
    if auditor_id is None:
        raise NotYetKnown("the audit's grading has not reached the scheduler yet")
    return auditor_id


class Escalation(StrEnum):
    CONVERSATION_OVERDUE = "conversation_overdue"
    REAUDIT_OVERDUE = "reaudit_overdue"
    STILL_INADEQUATE = "still_inadequate"


def overdue(step: FollowUpAction) -> Escalation:
    if step is FollowUpAction.REFLECTIVE_CONVERSATION:
        return Escalation.CONVERSATION_OVERDUE
    return Escalation.REAUDIT_OVERDUE


def escalated_to(why: Escalation, leads: ServiceAreaLeads) -> str:
    """An overdue conversation and a still-Inadequate re-audit go to the assistant director;
    an overdue re-audit to the Head of Service."""
    if why is Escalation.REAUDIT_OVERDUE:
        return leads.head_of_service
    return leads.assistant_director


def overturns(found_by: FoundBy, moderated_grade: Grade) -> bool:
    """Moderation overturns a finding only when the finding was the auditor's grade."""
    return found_by is FoundBy.AUDITOR and moderated_grade is not Grade.INADEQUATE


def is_overdue(status: FollowUpStatus, due_on: date, today: date) -> bool:
    """Open and past its due day."""
    return status is FollowUpStatus.OPEN and due_on < today


def followup_overdue(followup: FollowUpState, today: date) -> bool:
    """Open past its due day, with its step still to do: a follow-up whose re-audit is held
    for open actions (`reaudit_id` set) has done its step, so it is not overdue."""
    return is_overdue(followup.status, followup.due_on, today) and followup.reaudit_id is None


def step_fields(followup: FollowUpState) -> dict[str, Any]:
    """What every event about the current step carries."""
    return {
        "case_id": followup.case_id,
        "followup_id": followup.id,
        "audit_id": followup.audit_id,
        "action": followup.step,
        "owner_id": followup.owner_id,
        "due_on": followup.due_on,
    }
