"""Use cases of agreed actions: a person changes or verifies one; a timer reminds or escalates.

Each loads the action under its audit's lock (the lock order of services/scheduler/timers.py),
decides, saves; a change that settles the last open action of a follow-up whose improved
re-audit is held completes the follow-up in the same transaction.
"""

from datetime import datetime

from sqlmodel import Session

from services.scheduler.action_changes import ActionChangeForm, change_action
from services.scheduler.action_decisions import (
    ActionDecision,
    ActionTimer,
    VerificationForm,
    fire_action_timer,
    verify,
)
from services.scheduler.action_store import (
    action_state,
    already_applied,
    locked_action,
    remember_request,
    save_action,
)
from services.scheduler.actions import ActionState
from services.scheduler.domain import TimerKind
from services.scheduler.handlers import settle_followup
from services.scheduler.models import ActionRecord, FollowUp, Timer
from services.scheduler.store import SchedulerContext, state_of
from shared.errors import NotFound
from shared.events.vocabulary import ActionStatus


def update_action(
    session: Session, action_id: str, form: ActionChangeForm, ctx: SchedulerContext
) -> ActionState:
    """The owner or a manager changes the action; the same request again changes nothing."""
    row = locked_action(session, action_id)
    if already_applied(session, form.request_id, action_id):
        return action_state(row)
    now = ctx.clock.now()
    decision = change_action(action_state(row), form, now, ctx.rules)
    return _saved(session, row, decision, form.request_id, ctx)


def verify_action(
    session: Session, action_id: str, form: VerificationForm, ctx: SchedulerContext
) -> ActionState:
    """The re-audit's owner records whether the done action made a difference."""
    row = locked_action(session, action_id)
    if already_applied(session, form.request_id, action_id):
        return action_state(row)
    followup = session.get(FollowUp, row.origin_id)
    if followup is None:
        raise NotFound(f"no follow-up {row.origin_id!r} for action {action_id!r}")
    now = ctx.clock.now()
    decision = verify(action_state(row), form, state_of(followup), now)
    return _saved(session, row, decision, form.request_id, ctx)


def fire_action(session: Session, timer: Timer, now: datetime, ctx: SchedulerContext) -> bool:
    """Fire an action's timer (already marked fired by the pass); whether it said anything."""
    row = session.get(ActionRecord, timer.action_id)
    if row is None:
        return False
    planned = ActionTimer(TimerKind(timer.kind), timer.fire_at)
    decision = fire_action_timer(action_state(row), planned, now, ctx.rules)
    save_action(session, row, decision, now)
    return bool(decision.events)


def _saved(
    session: Session,
    row: ActionRecord,
    decision: ActionDecision,
    request_id: str,
    ctx: SchedulerContext,
) -> ActionState:
    was_open = row.status == ActionStatus.OPEN
    now = ctx.clock.now()
    save_action(session, row, decision, now)
    remember_request(session, request_id, row, now)
    if was_open and decision.action.status is not ActionStatus.OPEN and row.audit_id:
        settle_followup(session, row.audit_id, ctx)  # it may have been the last one open
    return decision.action
