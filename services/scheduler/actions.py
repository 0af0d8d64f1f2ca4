"""Agreed actions as the rules see them: where each stands, who may move it, and by when.

Pure: values in, values out. An action is open until its owner marks it done; the re-audit's
owner then says whether it made a difference (verified / not achieved), and nothing moves out of
that verdict. The owner's manager (their team manager, or for a team manager's own action the
Head of Service) and the area's Head of Service may cancel an open or done one with a reason,
and reopen a cancelled one; they alone change its owner or due date. Due dates are working days.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from services.scheduler.domain import reaudit_due
from shared.calendar import WorkingDayCalendar
from shared.errors import FieldProblem, RuleBroken
from shared.events.vocabulary import ActionOrigin, ActionStatus, ServiceArea
from shared.organisation import Organisation

ACTION_STEP = "action"
"""The `step` of an action's timers on the timer table."""
SCHEDULER = "scheduler"
"""Who a history line names when the scheduler itself did it (a reminder, an escalation)."""


@dataclass(frozen=True)
class Line:
    """An evidence note or a history line: what, by whom, when."""

    text: str
    by: str
    at: datetime


@dataclass(frozen=True)
class ActionState:
    id: str
    origin: ActionOrigin
    origin_id: str
    audit_id: str | None
    case_id: str
    service_area: ServiceArea
    team_id: str
    position: int
    what: str
    owner_id: str
    due_on: date
    status: ActionStatus
    agreed_by: str
    agreed_at: datetime
    status_reason: str | None = None
    evidence: tuple[Line, ...] = ()
    history: tuple[Line, ...] = ()
    done_on: date | None = None
    reaudit_id: str | None = None

    def noted(self, what: str, by: str, at: datetime, **changes: Any) -> "ActionState":
        """This action with `changes` made and a history line saying so."""
        return replace(self, history=(*self.history, Line(what, by, at)), **changes)


class ActionRefused(RuleBroken):
    def __init__(self, field: str, message: str) -> None:
        super().__init__("action_rule", [FieldProblem(field, message)])


class Party(StrEnum):
    """Who someone is to an action."""

    OWNER = "owner"
    MANAGER = "manager"
    """The owner's manager or the area's Head of Service."""
    REAUDITOR = "reauditor"
    """The owner of the follow-up's re-audit."""


MOVES: dict[tuple[ActionStatus, ActionStatus], Party] = {
    (ActionStatus.OPEN, ActionStatus.DONE): Party.OWNER,
    (ActionStatus.DONE, ActionStatus.VERIFIED): Party.REAUDITOR,
    (ActionStatus.DONE, ActionStatus.NOT_ACHIEVED): Party.REAUDITOR,
    (ActionStatus.OPEN, ActionStatus.CANCELLED): Party.MANAGER,
    (ActionStatus.DONE, ActionStatus.CANCELLED): Party.MANAGER,
    (ActionStatus.CANCELLED, ActionStatus.OPEN): Party.MANAGER,
}
"""Every status change there is, and who makes it."""

SETTLED = frozenset(ActionStatus) - {ActionStatus.OPEN}
"""Statuses that no longer hold up an improved follow-up: done, verified, not achieved, and
cancelled (always with a reason)."""


def mover_of(before: ActionStatus, after: ActionStatus) -> Party:
    """Who moves an action from `before` to `after`; refused (422) when nobody may."""
    party = MOVES.get((before, after))
    if party is None:
        raise ActionRefused("status", f"an action that is {before} cannot become {after}")
    return party


def line_manager_of(owner_id: str, service_area: str, organisation: Organisation) -> str:
    """Whom an action's owner answers to: their team's manager; for a team manager's own action
    (or someone in no team) the area's Head of Service; for the Head of Service's own, the
    assistant director."""
    member = organisation.staff_by_id.get(owner_id)
    team = organisation.teams_by_id.get(member.team) if member and member.team else None
    if team is not None and team.team_manager != owner_id:
        return team.team_manager
    leads = organisation.leads_of(service_area)
    if leads.head_of_service != owner_id:
        return leads.head_of_service
    return leads.assistant_director


def managed_by(person: str, organisation: Organisation) -> frozenset[str]:
    """The staff `person` is line manager to as a team manager (`line_manager_of`'s first case)."""
    teams = {team.id for team in organisation.teams if team.team_manager == person}
    return frozenset(
        member.id for member in organisation.staff if member.team in teams and member.id != person
    )


def managers_of(action: ActionState, organisation: Organisation) -> frozenset[str]:
    """Who may change an action's owner or due date, or cancel or reopen it."""
    head = organisation.leads_of(action.service_area).head_of_service
    return frozenset({line_manager_of(action.owner_id, action.service_area, organisation), head})


def parties_of(person: str, action: ActionState, organisation: Organisation) -> frozenset[Party]:
    """What `person` is to `action` (the re-audit's owner is known to the follow-up, not here)."""
    parties = {Party.OWNER} if person == action.owner_id else set()
    if person in managers_of(action, organisation):
        parties.add(Party.MANAGER)
    return frozenset(parties)


def check_owner(field: str, owner_id: str, organisation: Organisation) -> None:
    if owner_id not in organisation.staff_by_id:
        raise ActionRefused(field, f"unknown staff member {owner_id!r}")


def check_due(field: str, due_on: date, today: date, calendar: WorkingDayCalendar) -> None:
    """A due date is a working day, today or later."""
    if due_on < today:
        raise ActionRefused(field, "must not be in the past")
    if not calendar.is_working_day(due_on):
        raise ActionRefused(field, "must be a working day (not a weekend or bank holiday)")


def default_due(held_on: date, today: date, calendar: WorkingDayCalendar) -> date:
    """The working day before the re-audit is due; today's (or the next) working day when a
    late record leaves that in the past."""
    before_reaudit = calendar.working_days_before(reaudit_due(held_on, calendar), 1)
    return max(before_reaudit, calendar.roll_forward(today))


def is_action_overdue(status: ActionStatus, due_on: date, today: date) -> bool:
    """Open and past its due day."""
    return status is ActionStatus.OPEN and due_on < today
