"""Who may record a re-audit: what the audit service knows of each follow-up's step. Pure.

The scheduler owns follow-ups and says when a step starts (`followup.scheduled`, again with a
new owner when an assistant director reassigns the re-audit) and when the follow-up closes
(`followup.completed`, `followup.cancelled`). Those events may arrive late, twice or out of
order, so an assignment only moves forward: a closed follow-up stays closed, the re-audit step
outranks the conversation, and within a step the later announcement wins. Any order of arrival
therefore ends in the same assignment.
"""

from dataclasses import dataclass
from datetime import datetime

from shared.errors import FieldProblem
from shared.events import FollowUpCancelled, FollowUpCompleted, FollowUpScheduled
from shared.events.vocabulary import FollowUpAction

FollowUpEvent = FollowUpScheduled | FollowUpCompleted | FollowUpCancelled

STEP_ORDER = (FollowUpAction.REFLECTIVE_CONVERSATION, FollowUpAction.REAUDIT)


@dataclass(frozen=True)
class ReauditAssignment:
    """The follow-up of an audit as last announced: its step, who owns it, whether still open."""

    audit_id: str
    followup_id: str
    step: FollowUpAction
    owner_id: str
    open: bool
    as_of: datetime

    def _rank(self) -> tuple[bool, int, datetime]:
        return (not self.open, STEP_ORDER.index(self.step), self.as_of)


def assigned(current: ReauditAssignment | None, event: FollowUpEvent) -> ReauditAssignment | None:
    """The assignment after `event`, or None when the event is older than what is known."""
    incoming = ReauditAssignment(
        audit_id=event.audit_id,
        followup_id=event.followup_id,
        step=event.action,
        owner_id=event.owner_id,
        open=isinstance(event, FollowUpScheduled),
        as_of=_announced_at(event),
    )
    if current is not None and incoming._rank() <= current._rank():
        return None
    return incoming


def _announced_at(event: FollowUpEvent) -> datetime:
    if isinstance(event, FollowUpScheduled):
        return event.scheduled_at
    if isinstance(event, FollowUpCompleted):
        return event.completed_at
    return event.cancelled_at


def reaudit_refusals(
    earlier_audit_id: str,
    auditor_id: str,
    case_team_manager_id: str,
    assignment: ReauditAssignment | None,
) -> list[FieldProblem]:
    """Why `auditor_id` may not re-audit `earlier_audit_id` now; empty when they may."""
    if auditor_id == case_team_manager_id:
        return [
            FieldProblem(
                "auditor_id",
                "you manage the team that holds this case: its re-audit must be recorded by "
                "the auditor it is assigned to, from outside the team",
            )
        ]
    if assignment is None:
        return [
            FieldProblem(
                "reaudit_of",
                f"audit {earlier_audit_id} has no follow-up waiting for a re-audit: only an "
                "Inadequate audit is re-audited, after its reflective conversation is recorded",
            )
        ]
    return _step_refusals(earlier_audit_id, auditor_id, assignment)


def _step_refusals(
    earlier_audit_id: str, auditor_id: str, assignment: ReauditAssignment
) -> list[FieldProblem]:
    if not assignment.open:
        return [
            FieldProblem(
                "reaudit_of",
                f"the follow-up of audit {earlier_audit_id} is closed: it needs no re-audit",
            )
        ]
    if assignment.step is not FollowUpAction.REAUDIT:
        return [
            FieldProblem(
                "reaudit_of",
                f"the reflective conversation on audit {earlier_audit_id} is not recorded yet: "
                "the re-audit can be recorded once the Head of Service has recorded it",
            )
        ]
    if assignment.owner_id != auditor_id:
        return [
            FieldProblem(
                "auditor_id",
                f"the re-audit of audit {earlier_audit_id} is assigned to {assignment.owner_id}: "
                "only they can record it, unless an assistant director reassigns it to you",
            )
        ]
    return []
