"""Which re-audit may complete a follow-up, and why any other may not.

A re-audit closes the follow-up, so it is accepted only as the work it stands for: after the
reflective conversation, from the person the re-audit step is assigned to, never from the
case's own team manager (the report: auditors audit other teams' work). Anything else is a
well-formed event that proves nothing; it is kept with its reason, never obeyed. Pure.
"""

from collections.abc import Collection
from enum import StrEnum

from services.scheduler.followup import FollowUpState, FollowUpStatus
from shared.events.vocabulary import FollowUpAction


class ReauditRefusal(StrEnum):
    """Why a re-audit did not complete its follow-up."""

    FOLLOWUP_CLOSED = "followup_closed"
    NOT_AT_REAUDIT_STEP = "not_at_reaudit_step"
    CASE_TEAM_MANAGER = "case_team_manager"
    NOT_ASSIGNED_AUDITOR = "not_assigned_auditor"
    ALREADY_REAUDITED = "already_reaudited"
    """An improved re-audit is already accepted and held while the agreed actions settle."""


def reaudit_refusal(
    followup: FollowUpState, auditor_id: str, case_team_managers: Collection[str]
) -> ReauditRefusal | None:
    """None when this auditor's re-audit completes the follow-up, else the first rule it breaks."""
    if followup.status is not FollowUpStatus.OPEN:
        return ReauditRefusal.FOLLOWUP_CLOSED
    if followup.step is not FollowUpAction.REAUDIT:
        return ReauditRefusal.NOT_AT_REAUDIT_STEP
    if followup.reaudit_id is not None:
        return ReauditRefusal.ALREADY_REAUDITED
    if auditor_id in case_team_managers:
        return ReauditRefusal.CASE_TEAM_MANAGER
    if auditor_id != followup.owner_id:
        return ReauditRefusal.NOT_ASSIGNED_AUDITOR
    return None
