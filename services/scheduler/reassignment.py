"""Reassigning a re-audit: an assistant director gives it to another trained auditor.

The original auditor may have left, be away, or be too close to the case. The re-audit is the
only step an assistant director hands on (the reflective conversation is the Head of
Service's by rule), and only to someone who could have audited the case: a trained auditor
outside the case's team who is not its team manager. The step keeps its due date and timers,
which tell whoever owns it when they fire; the new owner is announced as the step again.

Pure: the follow-up and the form in, a `Decision` out; a broken rule raises `FollowUpRefused`.
"""

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.scheduler.conversation import Confirmed, FollowUpRefused
from services.scheduler.decisions import Decision, Facts, Note, Rules, announce_step
from services.scheduler.followup import FollowUpState, FollowUpStatus
from shared.confirmations import require_confirmed
from shared.events.data import Identifier
from shared.events.vocabulary import FollowUpAction
from shared.personal_data import personal_data_cautions

MAX_REASON = 500
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON),
    Field(description=f"Why: 1 to {MAX_REASON} characters once spaces at either end are trimmed."),
]


class ReassignForm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    to: Identifier
    reason: Reason
    confirmed: Confirmed = []


def reassign(
    followup: FollowUpState, form: ReassignForm, by: str, facts: Facts, now: datetime, rules: Rules
) -> Decision:
    """The open re-audit given to `form.to`; to its owner already, a replay that changes nothing."""
    _check_step(followup)
    if form.to == followup.owner_id:
        return Decision(followup, replayed=True)
    _check_new_owner(followup, form.to, facts, rules)
    require_confirmed(personal_data_cautions("reason", form.reason), form.confirmed)
    moved = replace(followup, owner_id=form.to)
    detail = {"from": followup.owner_id, "to": form.to, "by": by, "reason": form.reason}
    note = Note(f"{followup.step} reassigned", detail)
    return Decision(moved, notes=(note,), events=(announce_step(moved, now),))


def _check_step(followup: FollowUpState) -> None:
    if followup.status is not FollowUpStatus.OPEN:
        raise FollowUpRefused("followup", f"this follow-up is {followup.status}")
    if followup.step is not FollowUpAction.REAUDIT:
        raise FollowUpRefused(
            "followup",
            "only the re-audit is reassigned: the reflective conversation is the Head of Service's",
        )


def _check_new_owner(followup: FollowUpState, to: str, facts: Facts, rules: Rules) -> None:
    member = rules.organisation.staff_by_id.get(to)
    if member is None:
        raise FollowUpRefused("to", f"unknown staff member {to!r}")
    if not member.can_audit:
        raise FollowUpRefused("to", "must be a trained auditor")
    if to in (facts.team_manager_id, rules.team_manager_of(followup)):
        raise FollowUpRefused("to", "must not be the case's team manager")
    if member.team == followup.team_id:
        raise FollowUpRefused("to", "must not be in the case's team")
