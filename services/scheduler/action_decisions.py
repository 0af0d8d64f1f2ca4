"""What happens to agreed actions: agreed in a conversation, reminded, escalated, verified.

Pure: the action (or the follow-up and the agreed items) in, an `ActionDecision` out; handlers
and the timer pass load, call one of these, and save it (services/scheduler/action_store.py).
Changes by the owner and their managers are services/scheduler/action_changes.py.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.scheduler.actions import (
    SCHEDULER,
    ActionRefused,
    ActionState,
    check_due,
    check_owner,
    default_due,
    line_manager_of,
    mover_of,
)
from services.scheduler.decisions import Rules
from services.scheduler.domain import TimerKind, fire_time, next_escalation, step_timers
from services.scheduler.followup import FollowUpState
from shared.auth import Forbidden
from shared.calendar import uk_day
from shared.events import ActionAgreed, ActionOverdue, ActionReminderDue, ActionUpdated, EventData
from shared.events.data import Identifier
from shared.events.vocabulary import (
    ActionChange,
    ActionOrigin,
    ActionStatus,
    FollowUpAction,
    ReminderKind,
)

MAX_ACTION_LENGTH = 500
ActionText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ACTION_LENGTH),
    Field(
        description=f"What is to be done: 1 to {MAX_ACTION_LENGTH} characters once spaces at "
        "either end are trimmed."
    ),
]
REQUEST_ID_TEXT = (
    "Your own id for this change, 8 to 128 characters (a UUID will do), made once per form. "
    "Sending the same id again for the same action changes nothing and answers the action as "
    "it is now (200); the same id for another action is refused (409), whoever sent it. Ids "
    "are kept as long as the action's follow-up (the case-record retention after it closes, "
    "six years by default)."
)
RequestId = Annotated[
    str,
    Field(
        min_length=8,
        max_length=128,
        description=REQUEST_ID_TEXT,
        examples=["web-3f0c2a9e6b1d4f5e9a471c2d3e4f5a6b"],
    ),
]
"""Names one submission: sent again, it changes nothing and answers the action as it is."""


class AgreedActionItem(BaseModel):
    """An agreed action with its owner and, when not the default, its due date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    what: ActionText
    owner_id: Identifier
    due_on: date | None = Field(
        default=None,
        description="When it is due, an ISO 8601 date (2026-12-04), a working day not in the "
        "past; the working day before the re-audit when left out.",
    )


AgreedAction = ActionText | AgreedActionItem
"""A bare text (owned by the case's team manager, due the working day before the re-audit) or
an item naming its owner and due date."""


def text_of(item: AgreedAction) -> str:
    return item if isinstance(item, str) else item.what


@dataclass(frozen=True)
class ActionTimer:
    kind: TimerKind
    fire_at: datetime


@dataclass(frozen=True)
class ActionDecision:
    """The action as it now is, the timers to plan and the events to publish.

    `cancels_timers`: its timers not yet fired are called off (before `timers` are planned).
    """

    action: ActionState
    events: tuple[EventData, ...] = ()
    timers: tuple[ActionTimer, ...] = ()
    cancels_timers: bool = False

    def then(self, after: "ActionDecision") -> "ActionDecision":
        """This decision, then `after`, as one change."""
        return ActionDecision(
            after.action,
            self.events + after.events,
            after.timers if after.cancels_timers else self.timers + after.timers,
            self.cancels_timers or after.cancels_timers,
        )


def action_facts(action: ActionState) -> dict[str, Any]:
    """What every event about an action carries (never its text)."""
    return {
        "case_id": action.case_id,
        "action_id": action.id,
        "origin": action.origin,
        "origin_id": action.origin_id,
        "audit_id": action.audit_id,
        "service_area": action.service_area,
        "team_id": action.team_id,
        "owner_id": action.owner_id,
        "due_on": action.due_on,
        "status": action.status,
    }


def updated(action: ActionState, change: ActionChange, by: str, now: datetime) -> ActionUpdated:
    return ActionUpdated(**action_facts(action), change=change, changed_by=by, changed_at=now)


def plan_timers(action: ActionState, now: datetime, rules: Rules) -> tuple[ActionTimer, ...]:
    """The reminders still to come before its due date, and its first escalation."""
    timers = []
    for planned in step_timers(action.due_on, rules.calendar):
        at = fire_time(planned.day, rules.starts_at_hour)
        if planned.kind is not TimerKind.OVERDUE and at < now:
            continue  # a reminder whose moment has passed says nothing new
        timers.append(ActionTimer(planned.kind, at))
    return tuple(timers)


def check_agreed(items: Sequence[AgreedAction], today: date, rules: Rules) -> None:
    """Each item's owner is a staff member and its due date, when given, a working day ahead."""
    for index, item in enumerate(items):
        if isinstance(item, str):
            continue
        check_owner(f"agreed_actions[{index}].owner_id", item.owner_id, rules.organisation)
        if item.due_on is not None:
            check_due(f"agreed_actions[{index}].due_on", item.due_on, today, rules.calendar)


def agree_actions(
    followup: FollowUpState,
    items: Sequence[AgreedAction],
    agreed_by: str,
    now: datetime,
    rules: Rules,
    new_id: Callable[[], str],
) -> list[ActionDecision]:
    """One open action per item agreed in the follow-up's conversation, with its timers; a bare
    text is the case's team manager's (the Head of Service's when the team is unknown)."""
    held_on = followup.conversation_held_on or uk_day(now)
    due = default_due(held_on, uk_day(now), rules.calendar)
    owner = rules.team_manager_of(followup) or rules.leads(followup).head_of_service
    decisions = []
    for position, item in enumerate(items):
        explicit = item if isinstance(item, AgreedActionItem) else None
        action = ActionState(
            id=new_id(),
            origin=ActionOrigin.FOLLOWUP,
            origin_id=followup.id,
            audit_id=followup.audit_id,
            case_id=followup.case_id,
            service_area=followup.service_area,
            team_id=followup.team_id,
            position=position,
            what=text_of(item),
            owner_id=explicit.owner_id if explicit else owner,
            due_on=(explicit.due_on if explicit else None) or due,
            status=ActionStatus.OPEN,
            agreed_by=agreed_by,
            agreed_at=now,
        ).noted("agreed", agreed_by, now)
        agreed = ActionAgreed(**action_facts(action), agreed_by=agreed_by, agreed_at=now)
        decisions.append(ActionDecision(action, (agreed,), plan_timers(action, now, rules)))
    return decisions


def fire_action_timer(
    action: ActionState, timer: ActionTimer, now: datetime, rules: Rules
) -> ActionDecision:
    """A reminder to the owner, or an escalation to their manager that repeats; nothing once
    the action is no longer open."""
    if action.status is not ActionStatus.OPEN:
        return ActionDecision(action)
    if timer.kind is not TimerKind.OVERDUE:
        reminded = action.noted(f"reminder: {timer.kind.replace('_', ' ')}", SCHEDULER, now)
        reminder = ActionReminderDue(**action_facts(action), reminder=ReminderKind(timer.kind))
        return ActionDecision(reminded, (reminder,))
    today = uk_day(now)
    to = line_manager_of(action.owner_id, action.service_area, rules.organisation)
    # Repeat from today, not from the missed day, so a long outage does not fire a burst.
    repeat_on = next_escalation(
        max(uk_day(timer.fire_at), today), rules.overdue_every, rules.calendar
    )
    repeat = ActionTimer(TimerKind.OVERDUE, fire_time(repeat_on, rules.starts_at_hour))
    escalation = ActionOverdue(
        **action_facts(action),
        escalated_to_id=to,
        working_days_overdue=max(1, rules.calendar.working_days_between(action.due_on, today)),
    )
    escalated = action.noted(f"overdue: escalated to {to}", SCHEDULER, now)
    return ActionDecision(escalated, (escalation,), (repeat,))


class VerificationForm(BaseModel):
    """The re-audit's owner says whether a done action made a difference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verified_by: Identifier
    outcome: Literal["verified", "not_achieved"]
    reaudit_id: Identifier
    request_id: RequestId


def verify(
    action: ActionState, form: VerificationForm, followup: FollowUpState, now: datetime
) -> ActionDecision:
    """Verified or not achieved, by the follow-up's re-audit owner once it is at its re-audit."""
    if followup.step is not FollowUpAction.REAUDIT:
        raise ActionRefused("followup", "the follow-up has not reached its re-audit yet")
    if form.verified_by != followup.owner_id:
        raise Forbidden("only the owner of the follow-up's re-audit verifies its actions")
    outcome = ActionStatus(form.outcome)
    mover_of(action.status, outcome)  # only a done action; nothing moves out of a verdict
    judged = action.noted(
        outcome.replace("_", " "), form.verified_by, now, status=outcome, reaudit_id=form.reaudit_id
    )
    change = ActionChange(outcome.value)
    return ActionDecision(judged, (updated(judged, change, form.verified_by, now),))
