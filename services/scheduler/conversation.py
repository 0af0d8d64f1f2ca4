"""The reflective conversation: replayed, refused, or recorded (and then the re-audit is due).

Pure: the follow-up and the form in, a `Decision` out; a broken rule raises `FollowUpRefused`
(422) (an agreed item's unknown owner or unworkable date `ActionRefused`, 422 too), a different
conversation recorded before `AlreadyRecorded` (409). The actions agreed are created beside it
(services/scheduler/action_decisions.py `agree_actions`).
"""

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.scheduler.action_decisions import AgreedAction, check_agreed, text_of
from services.scheduler.decisions import Decision, Facts, Note, Rules, schedule_step
from services.scheduler.domain import reaudit_due
from services.scheduler.followup import (
    FollowUpState,
    FollowUpStatus,
    Happened,
    advance,
    owner_of,
)
from shared.calendar import uk_day
from shared.confirmations import require_confirmed
from shared.errors import Conflict, FieldProblem, RuleBroken
from shared.events.data import Identifier
from shared.events.vocabulary import FollowUpAction
from shared.personal_data import personal_data_cautions_in

MAX_ITEMS = 20
"""Attendees and agreed actions: a conversation, not a register or a plan of work."""

MAX_CONFIRMED = 10
Confirmed = Annotated[
    list[Identifier],
    Field(
        max_length=MAX_CONFIRMED,
        description=f"The caution codes you have looked at and keep, at most {MAX_CONFIRMED}: "
        "send back the codes a 422 `needs_confirmation` answer gave.",
    ),
]
"""The caution codes the writer confirms (shared.confirmations)."""


class ConversationForm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    held_on: date = Field(
        description="The day it was held, an ISO 8601 date (2026-11-25): not in the future, "
        "not before the grading day.",
        examples=["2026-11-25"],
    )
    recorded_by: Identifier
    attendees: list[Identifier] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description=f"The staff ids of those who took part: 1 to {MAX_ITEMS}, each known.",
    )
    agreed_actions: list[AgreedAction] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description=f"What was agreed: 1 to {MAX_ITEMS} items, each a text or an item naming "
        "its owner and due date.",
    )
    confirmed: Confirmed = []


class FollowUpRefused(RuleBroken):
    def __init__(self, field: str, message: str) -> None:
        super().__init__("followup_rule", [FieldProblem(field, message)])
        self.field, self.message = field, message


class AlreadyRecorded(Conflict):
    """A different reflective conversation was recorded before."""


def hold_conversation(
    followup: FollowUpState, form: ConversationForm, facts: Facts, now: datetime, rules: Rules
) -> Decision:
    """The same conversation again is a replay; a new one is recorded, late or not, and an
    open follow-up moves on to its re-audit, owned by the auditor."""
    if followup.conversation_held_on is not None:
        if _recorded(followup) == _recorded_by(form):
            return Decision(followup, replayed=True)
        day = followup.conversation_held_on
        raise AlreadyRecorded(
            f"follow-up {followup.id} already has its reflective conversation, held on "
            f"{day.day} {day:%B %Y}: a different one cannot replace it"
        )
    _check(followup, form, now, rules)
    late = form.held_on > followup.conversation_due_on
    held = replace(
        followup,
        conversation_held_on=form.held_on,
        conversation_late=late,
        attendees=tuple(form.attendees),
        agreed_actions=_texts(form),
    )
    detail = {"held_on": form.held_on.isoformat(), "late": late, "recorded_by": form.recorded_by}
    recorded = Decision(held, notes=(Note("reflective conversation held", detail),))
    stage = advance(held.stage, Happened.CONVERSATION_HELD)
    if stage == held.stage:
        return recorded  # re-audited already: the conversation is kept, nothing more is due
    due = reaudit_due(form.held_on, rules.calendar)
    owner = owner_of(stage.step, rules.leads(held), facts.auditor_id)
    moved = held.at(stage, owner_id=owner, due_on=due, reaudit_due_on=due)
    ended = recorded.then(Decision(moved, cancels_timers=True))
    return ended.then(schedule_step(moved, now, rules))


def _recorded(followup: FollowUpState) -> tuple[object, ...]:
    return (followup.conversation_held_on, followup.attendees, followup.agreed_actions)


def _recorded_by(form: ConversationForm) -> tuple[object, ...]:
    return (form.held_on, tuple(form.attendees), _texts(form))


def _texts(form: ConversationForm) -> tuple[str, ...]:
    """What was agreed, as the follow-up keeps it; each item's owner and date are its action's."""
    return tuple(text_of(item) for item in form.agreed_actions)


def _check(followup: FollowUpState, form: ConversationForm, now: datetime, rules: Rules) -> None:
    if followup.status is FollowUpStatus.CANCELLED:
        raise FollowUpRefused("followup", "this follow-up was cancelled")
    leads = rules.leads(followup)
    if form.recorded_by != owner_of(FollowUpAction.REFLECTIVE_CONVERSATION, leads, None):
        raise FollowUpRefused("recorded_by", "only the Head of Service of the area records it")
    if form.held_on > uk_day(now):
        raise FollowUpRefused("held_on", "must not be in the future")
    if form.held_on < followup.grading_day:
        raise FollowUpRefused("held_on", "must not be before the grading day")
    unknown = [p for p in form.attendees if p not in rules.organisation.staff_by_id]
    if unknown:
        raise FollowUpRefused("attendees", f"unknown staff members: {', '.join(unknown)}")
    check_agreed(form.agreed_actions, uk_day(now), rules)
    # Last: a caution is worth confirming only once everything else is right.
    require_confirmed(personal_data_cautions_in("agreed_actions", _texts(form)), form.confirmed)
