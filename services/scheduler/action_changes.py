"""Changing an agreed action: its owner marks it done; their manager or the area's Head of
Service reassigns it, moves its due date, cancels it with a reason or reopens it; any of them
adds evidence.

Pure: the action and the form in, an `ActionDecision` out. The wrong person is refused with
`Forbidden` (403), a broken rule with `ActionRefused` (422); free text that looks like personal
data must be confirmed (shared.confirmations), checked last.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.scheduler.action_decisions import (
    ActionDecision,
    RequestId,
    action_facts,
    plan_timers,
    updated,
)
from services.scheduler.actions import (
    ActionRefused,
    ActionState,
    Line,
    Party,
    check_due,
    check_owner,
    mover_of,
    parties_of,
)
from services.scheduler.conversation import Confirmed
from services.scheduler.decisions import Rules
from shared.auth import Forbidden
from shared.calendar import uk_day
from shared.confirmations import require_confirmed
from shared.events import ActionCompleted
from shared.events.data import Identifier
from shared.events.vocabulary import ActionChange, ActionStatus
from shared.personal_data import personal_data_cautions

MAX_NOTE = 500
Note = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE),
    Field(description=f"1 to {MAX_NOTE} characters once spaces at either end are trimmed."),
]


class ActionChangeForm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    changed_by: Identifier
    status: Literal["done", "cancelled", "open"] | None = None
    reason: Note | None = None
    """Why it is cancelled: required then, and only then."""
    owner_id: Identifier | None = None
    due_on: date | None = Field(
        default=None,
        description="A new due date, an ISO 8601 date (2026-12-04): a working day, not in the "
        "past.",
    )
    evidence: Note | None = None
    request_id: RequestId
    confirmed: Confirmed = []


@dataclass(frozen=True)
class Wanted:
    """What a form changes, leaving out what is already so."""

    status: ActionStatus | None
    owner_id: str | None
    due_on: date | None
    evidence: str | None

    @classmethod
    def of(cls, action: ActionState, form: ActionChangeForm) -> "Wanted":
        status = ActionStatus(form.status) if form.status else None
        return cls(
            status if status is not action.status else None,
            form.owner_id if form.owner_id != action.owner_id else None,
            form.due_on if form.due_on != action.due_on else None,
            form.evidence,
        )

    @property
    def nothing(self) -> bool:
        return (self.status, self.owner_id, self.due_on, self.evidence) == (None,) * 4


def change_action(
    action: ActionState, form: ActionChangeForm, now: datetime, rules: Rules
) -> ActionDecision:
    """Reopen first, then the new owner, due date and evidence, then done or cancelled."""
    parties = parties_of(form.changed_by, action, rules.organisation)
    if not parties:
        raise Forbidden(
            "only the action's owner, their manager or the Head of Service of "
            f"{action.service_area} update it"
        )
    wanted = Wanted.of(action, form)
    if wanted.nothing:
        raise ActionRefused("status", "nothing to change: it is already as asked")
    _check_status(action, wanted, form, parties)
    _check_details(action, wanted, parties, now, rules)
    cautions = personal_data_cautions("evidence", form.evidence)
    require_confirmed(cautions + personal_data_cautions("reason", form.reason), form.confirmed)
    return _apply(action, wanted, form, now, rules)


def _check_status(
    action: ActionState, wanted: Wanted, form: ActionChangeForm, parties: frozenset[Party]
) -> None:
    if wanted.status is None:
        if form.reason is not None:
            raise ActionRefused("reason", "a reason goes with cancelling an action only")
        return
    mover = mover_of(action.status, wanted.status)
    if mover not in parties:
        who = "its owner" if mover is Party.OWNER else "the owner's manager or Head of Service"
        raise Forbidden(f"only {who} may make this action {wanted.status}")
    if (wanted.status is ActionStatus.CANCELLED) != (form.reason is not None):
        raise ActionRefused("reason", "a reason goes with cancelling an action, and only then")


def _check_details(
    action: ActionState, wanted: Wanted, parties: frozenset[Party], now: datetime, rules: Rules
) -> None:
    """The owner and due date change while it is open (or reopened), by a manager; evidence
    goes on an action still being worked on."""
    during = ActionStatus.OPEN if wanted.status is ActionStatus.OPEN else action.status
    if wanted.owner_id is not None or wanted.due_on is not None:
        if Party.MANAGER not in parties:
            raise Forbidden("only the owner's manager or Head of Service reassigns or re-dates it")
        if during is not ActionStatus.OPEN:
            raise ActionRefused("status", f"an action that is {during} keeps its owner and date")
    if wanted.owner_id is not None:
        check_owner("owner_id", wanted.owner_id, rules.organisation)
    if wanted.due_on is not None:
        check_due("due_on", wanted.due_on, uk_day(now), rules.calendar)
    if wanted.evidence is not None and during not in (ActionStatus.OPEN, ActionStatus.DONE):
        raise ActionRefused("evidence", f"an action that is {during} takes no more evidence")


def _apply(
    action: ActionState, wanted: Wanted, form: ActionChangeForm, now: datetime, rules: Rules
) -> ActionDecision:
    by = form.changed_by
    decision = ActionDecision(action)
    if wanted.status is ActionStatus.OPEN:
        reopened = decision.action.noted(
            "reopened", by, now, status=wanted.status, status_reason=None, done_on=None
        )
        decision = decision.then(_updated(reopened, ActionChange.REOPENED, by, now, rules))
    if wanted.owner_id is not None:
        what = f"owner: {decision.action.owner_id} to {wanted.owner_id}"
        moved = decision.action.noted(what, by, now, owner_id=wanted.owner_id)
        decision = decision.then(_told(moved, ActionChange.OWNER, by, now))
    if wanted.due_on is not None:
        what = f"due date: {decision.action.due_on} to {wanted.due_on}"
        dated = decision.action.noted(what, by, now, due_on=wanted.due_on)
        decision = decision.then(_updated(dated, ActionChange.DUE_DATE, by, now, rules))
    if wanted.evidence is not None:
        lines = (*decision.action.evidence, Line(wanted.evidence, by, now))
        noted = decision.action.noted("evidence added", by, now, evidence=lines)
        decision = decision.then(_told(noted, ActionChange.EVIDENCE, by, now))
    if wanted.status in (ActionStatus.DONE, ActionStatus.CANCELLED):
        decision = decision.then(_closed(decision.action, wanted.status, form, now))
    return decision


def _told(action: ActionState, change: ActionChange, by: str, now: datetime) -> ActionDecision:
    return ActionDecision(action, (updated(action, change, by, now),))


def _updated(
    action: ActionState, change: ActionChange, by: str, now: datetime, rules: Rules
) -> ActionDecision:
    """A change that moves its deadline or restarts it: the timers are planned anew."""
    return ActionDecision(
        action, (updated(action, change, by, now),), plan_timers(action, now, rules), True
    )


def _closed(
    action: ActionState, status: ActionStatus, form: ActionChangeForm, now: datetime
) -> ActionDecision:
    """Done by its owner, or cancelled with a reason: its reminders stop."""
    by = form.changed_by
    if status is ActionStatus.DONE:
        done = action.noted("done", by, now, status=status, done_on=uk_day(now))
        completed = ActionCompleted(**action_facts(done), completed_by=by, completed_at=now)
        return ActionDecision(done, (completed,), cancels_timers=True)
    cancelled = action.noted("cancelled", by, now, status=status, status_reason=form.reason)
    return ActionDecision(
        cancelled, (updated(cancelled, ActionChange.CANCELLED, by, now),), cancels_timers=True
    )
