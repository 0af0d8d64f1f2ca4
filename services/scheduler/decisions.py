"""What happens to a follow-up: given it and what the scheduler knows, what changes and which
events follow. Pure; handlers and timers load, call one of these, and save the `Decision`.

The facts about an audit (its grading, its moderation, its re-audit) may arrive in any order;
`settle` brings a follow-up to the state the facts known so far imply, so every order of
arrival ends the same way.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.scheduler.domain import (
    TimerKind,
    conversation_due,
    fire_time,
    next_escalation,
    outcome_of,
    step_timers,
)
from services.scheduler.followup import (
    Escalation,
    FollowUpState,
    FollowUpStatus,
    Happened,
    advance,
    escalated_to,
    overdue,
    overturns,
    owner_of,
    step_fields,
)
from services.scheduler.reaudits import ReauditRefusal, reaudit_refusal
from shared.calendar import WorkingDayCalendar, uk_day
from shared.events import (
    EventData,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
    InadequateFound,
    ReminderDue,
)
from shared.events.vocabulary import FollowUpAction, FollowUpOutcome, Grade, ReminderKind
from shared.organisation import Organisation, ServiceAreaLeads


@dataclass(frozen=True)
class Rules:
    """The organisation and the settings the decisions follow."""

    organisation: Organisation
    calendar: WorkingDayCalendar
    overdue_every: int
    starts_at_hour: int

    def leads(self, followup: FollowUpState) -> ServiceAreaLeads:
        return self.organisation.leads_of(followup.service_area)

    def team_manager_of(self, followup: FollowUpState) -> str | None:
        """The manager of the case's team as the organisation file has it now."""
        team = self.organisation.teams_by_id.get(followup.team_id)
        return team.team_manager if team is not None else None


@dataclass(frozen=True)
class Note:
    """A line for the follow-up's timeline."""

    what: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimerPlan:
    """A reminder or escalation of a step, due at `fire_at`."""

    step: FollowUpAction
    kind: TimerKind
    fire_at: datetime
    sequence: int = 0


@dataclass(frozen=True)
class RefusedReaudit:
    """A re-audit kept as evidence that did not complete the follow-up, and why."""

    audit_id: str
    auditor_id: str
    reason: ReauditRefusal


@dataclass(frozen=True)
class Decision:
    """The follow-up as it now is, its new timeline lines and timers, and the events to publish.

    `cancels_timers`: the step ended, so its timers not yet fired are called off (before
    `timers`, which belong to what comes next, are planned). `refused`: re-audits to keep
    as refused.
    """

    followup: FollowUpState
    notes: tuple[Note, ...] = ()
    timers: tuple[TimerPlan, ...] = ()
    events: tuple[EventData, ...] = ()
    cancels_timers: bool = False
    replayed: bool = False
    refused: tuple[RefusedReaudit, ...] = ()

    def then(self, after: "Decision") -> "Decision":
        """This decision, then `after`, as one change."""
        return Decision(
            after.followup,
            self.notes + after.notes,
            after.timers if after.cancels_timers else self.timers + after.timers,
            self.events + after.events,
            self.cancels_timers or after.cancels_timers,
            refused=self.refused + after.refused,
        )


@dataclass(frozen=True)
class Reaudit:
    audit_id: str
    grade: Grade
    graded_at: datetime
    auditor_id: str
    team_manager_id: str | None = None
    """The case's team manager as the re-audit names them."""


@dataclass(frozen=True)
class Moderation:
    moderation_id: str
    grade: Grade


@dataclass(frozen=True)
class Facts:
    """What the scheduler has learnt about one audit so far."""

    auditor_id: str | None = None
    team_manager_id: str | None = None
    moderation: Moderation | None = None
    reaudits: tuple[Reaudit, ...] = ()
    """The re-audits not yet accepted or refused, earliest graded first."""
    open_actions: int = 0
    """Actions agreed in the follow-up that are still open (services.scheduler.actions)."""
    held: Reaudit | None = None
    """The accepted re-audit of an open follow-up, held until its open actions settle."""


def open_followup(
    found: InadequateFound,
    event_id: str,
    followup_id: str,
    facts: Facts,
    now: datetime,
    rules: Rules,
) -> Decision:
    """A new follow-up at its reflective conversation, settled by the facts already known."""
    grading_day = uk_day(found.graded_at)
    due = conversation_due(grading_day, rules.calendar)
    step = FollowUpAction.REFLECTIVE_CONVERSATION
    followup = FollowUpState(
        id=followup_id,
        audit_id=found.audit_id,
        case_id=found.case_id,
        service_area=found.service_area,
        team_id=found.team_id,
        found_by=found.found_by,
        grading_day=grading_day,
        status=FollowUpStatus.OPEN,
        step=step,
        owner_id=owner_of(step, rules.organisation.leads_of(found.service_area), None),
        due_on=due,
        conversation_due_on=due,
        opened_at=now,
    )
    opened = Decision(
        followup, notes=(Note("opened", {"found_by": found.found_by, "event_id": event_id}),)
    )
    scheduled = opened.then(schedule_step(followup, now, rules))
    return scheduled.then(settle(followup, facts, now, rules))


def settle(followup: FollowUpState, facts: Facts, now: datetime, rules: Rules) -> Decision:
    """Cancel when moderation overturned the finding; then each re-audit not yet judged
    completes the follow-up when `reaudit_refusal` allows it, or is kept as refused. An
    improved re-audit waits (held) while actions agreed in the conversation are open, and
    completes the follow-up once none is."""
    decision = Decision(followup)
    if facts.moderation is not None and overturns(followup.found_by, facts.moderation.grade):
        decision = _cancel(followup, facts.moderation, now)
    for reaudit in facts.reaudits:
        decision = decision.then(_judge(decision.followup, reaudit, facts, now, rules))
    held = facts.held
    if (
        held is not None
        and not facts.open_actions
        and held.audit_id == decision.followup.reaudit_id
    ):
        decision = decision.then(_complete(decision.followup, held, facts, now, rules))
    return decision


def schedule_step(followup: FollowUpState, now: datetime, rules: Rules) -> Decision:
    """Announce the current step and plan its reminders and first escalation."""
    scheduled = announce_step(followup, now)
    note = Note(
        f"{followup.step} scheduled",
        {"due_on": followup.due_on.isoformat(), "owner_id": followup.owner_id},
    )
    timers = []
    for planned in step_timers(followup.due_on, rules.calendar):
        at = fire_time(planned.day, rules.starts_at_hour)
        if planned.kind is not TimerKind.OVERDUE and at < now:
            continue  # a reminder whose moment passed before the step existed says nothing new
        timers.append(TimerPlan(followup.step, planned.kind, at))
    return Decision(followup, notes=(note,), timers=tuple(timers), events=(scheduled,))


def announce_step(followup: FollowUpState, now: datetime) -> FollowUpScheduled:
    """The current step, its owner and due date, for those who act on it or are told of it."""
    return FollowUpScheduled(
        **step_fields(followup), service_area=followup.service_area, scheduled_at=now
    )


def fire_timer(followup: FollowUpState, timer: TimerPlan, now: datetime, rules: Rules) -> Decision:
    """A reminder to the owner, or an escalation that repeats; nothing once the step moved on."""
    if followup.status is not FollowUpStatus.OPEN or followup.step is not timer.step:
        return Decision(followup)
    note = Note(timer.kind, {"sequence": timer.sequence})
    if timer.kind is not TimerKind.OVERDUE:
        reminder = ReminderDue(**step_fields(followup), reminder=ReminderKind(timer.kind))
        return Decision(followup, notes=(note,), events=(reminder,))
    today = uk_day(now)
    # Repeat from today, not from the missed day, so a long outage does not fire a burst.
    repeat_on = next_escalation(
        max(uk_day(timer.fire_at), today), rules.overdue_every, rules.calendar
    )
    repeat = TimerPlan(
        followup.step,
        TimerKind.OVERDUE,
        fire_time(repeat_on, rules.starts_at_hour),
        timer.sequence + 1,
    )
    escalation = FollowUpOverdue(
        **step_fields(followup),
        escalated_to_id=escalated_to(overdue(followup.step), rules.leads(followup)),
        working_days_overdue=max(1, rules.calendar.working_days_between(followup.due_on, today)),
    )
    return Decision(followup, notes=(note,), timers=(repeat,), events=(escalation,))


def _judge(
    followup: FollowUpState, reaudit: Reaudit, facts: Facts, now: datetime, rules: Rules
) -> Decision:
    managers = {m for m in (reaudit.team_manager_id, rules.team_manager_of(followup)) if m}
    reason = reaudit_refusal(followup, reaudit.auditor_id, managers)
    if reason is None:
        return _complete(followup, reaudit, facts, now, rules)
    refused = RefusedReaudit(reaudit.audit_id, reaudit.auditor_id, reason)
    detail = {"reaudit_id": reaudit.audit_id, "auditor_id": reaudit.auditor_id, "reason": reason}
    return Decision(followup, notes=(Note("reaudit refused", detail),), refused=(refused,))


def _complete(
    followup: FollowUpState, reaudit: Reaudit, facts: Facts, now: datetime, rules: Rules
) -> Decision:
    stage = advance(followup.stage, Happened.REAUDITED)
    if stage == followup.stage:
        return Decision(followup)
    outcome = outcome_of(reaudit.grade)
    if outcome is FollowUpOutcome.IMPROVED and facts.open_actions:
        return _hold(followup, reaudit, facts.open_actions)
    to = None
    if outcome is FollowUpOutcome.STILL_INADEQUATE:
        to = escalated_to(Escalation.STILL_INADEQUATE, rules.leads(followup))
    completed = FollowUpCompleted(
        **step_fields(followup),
        outcome=outcome,
        reaudit_id=reaudit.audit_id,
        escalated_to_id=to,
        completed_at=now,
    )
    closed = followup.at(
        stage,
        outcome=outcome,
        closed_at=now,
        reaudit_id=reaudit.audit_id,
        reaudit_graded_on=uk_day(reaudit.graded_at),
    )
    note = Note("completed", {"outcome": outcome, "reaudit_id": reaudit.audit_id})
    return Decision(closed, notes=(note,), events=(completed,), cancels_timers=True)


def _hold(followup: FollowUpState, reaudit: Reaudit, open_actions: int) -> Decision:
    """The improved re-audit accepted but the follow-up kept open for its open actions; the
    re-audit's reminders stop, as it is done."""
    held = replace(
        followup, reaudit_id=reaudit.audit_id, reaudit_graded_on=uk_day(reaudit.graded_at)
    )
    detail = {"reaudit_id": reaudit.audit_id, "open_actions": open_actions}
    return Decision(
        held, notes=(Note("reaudit held for open actions", detail),), cancels_timers=True
    )


def _cancel(followup: FollowUpState, moderation: Moderation, now: datetime) -> Decision:
    stage = advance(followup.stage, Happened.OVERTURNED)
    if stage == followup.stage:
        return Decision(followup)
    reason = f"Moderation regraded the audit as {moderation.grade.replace('_', ' ')}"
    cancelled = FollowUpCancelled(**step_fields(followup), reason=reason, cancelled_at=now)
    closed = followup.at(stage, cancelled_reason=reason, closed_at=now)
    note = Note("cancelled", {"reason": reason, "moderation_id": moderation.moderation_id})
    return Decision(closed, notes=(note,), events=(cancelled,), cancels_timers=True)
