"""Use cases of the scheduler: open, advance, complete and cancel follow-ups.

Events may come late, twice, or in another order across topics (a re-audit before the
conversation, a moderation before the finding). Each handler records what it learnt as a fact,
then brings the follow-up to the state the facts imply, so every order ends the same way.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import update
from sqlmodel import Session, col, select

from services.scheduler import metrics
from services.scheduler.domain import (
    TimerKind,
    conversation_due,
    fire_time,
    outcome_of,
    reaudit_due,
    step_timers,
)
from services.scheduler.models import AuditFact, FollowUp, ModerationFact, TimelineEntry, Timer
from shared.calendar import UK, WorkingDayCalendar
from shared.clock import Clock
from shared.db import after_commit, as_utc, lock_for
from shared.events import (
    AuditGraded,
    CloudEvent,
    EventData,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpScheduled,
    InadequateFound,
    ModerationCompleted,
    new_event,
)
from shared.events.data import Identifier
from shared.events.vocabulary import FollowUpAction, FollowUpOutcome, FoundBy, Grade
from shared.organisation import Organisation
from shared.outbox import add_event

SOURCE = "/qa/scheduler"
E = TypeVar("E", bound=EventData)


@dataclass(frozen=True)
class SchedulerContext:
    organisation: Organisation
    calendar: WorkingDayCalendar
    clock: Clock
    overdue_every: int
    starts_at_hour: int


class ConversationForm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    held_on: date
    recorded_by: Identifier
    attendees: list[Identifier] = Field(min_length=1, max_length=30)
    agreed_actions: list[str] = Field(min_length=1, max_length=30)


class FollowUpRefused(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class AlreadyRecorded(Exception):
    """A different reflective conversation was recorded before."""


class NotYetKnown(Exception):
    """A fact the step needs has not reached the scheduler yet; asking again later will work."""


# --- facts in ------------------------------------------------------------------------


def on_inadequate_found(
    session: Session, event: CloudEvent[EventData], ctx: SchedulerContext
) -> None:
    data = _expect(event, InadequateFound)
    lock_for(session, data.audit_id)  # replicas see this audit's facts one at a time
    if _followup_of(session, data.audit_id) is not None:
        return  # one follow-up per audit, whoever found it first
    now = ctx.clock.now()
    grading_day = data.graded_at.astimezone(UK).date()
    due = conversation_due(grading_day, ctx.calendar)
    followup = FollowUp(
        id=f"FU-{uuid.uuid4().hex[:16]}",
        audit_id=data.audit_id,
        case_id=data.case_id,
        service_area=data.service_area,
        team_id=data.team_id,
        found_by=data.found_by,
        grading_day=grading_day,
        status="open",
        step=FollowUpAction.REFLECTIVE_CONVERSATION,
        owner_id=ctx.organisation.leads[data.service_area].head_of_service,
        due_on=due,
        conversation_due_on=due,
        opened_at=now,
    )
    session.add(followup)
    note(session, followup, now, "opened", found_by=data.found_by, event_id=event.id)
    _schedule_step(session, followup, ctx, now)
    moderation = session.get(ModerationFact, data.audit_id)
    reaudit = _reaudit_of(session, data.audit_id)
    if moderation is not None and _overturns(followup, moderation):
        _cancel(session, followup, moderation, now)
    elif reaudit is not None:
        _complete(session, followup, reaudit, ctx, now)


def on_moderation_completed(
    session: Session, event: CloudEvent[EventData], ctx: SchedulerContext
) -> None:
    data = _expect(event, ModerationCompleted)
    lock_for(session, data.audit_id)
    fact = session.get(ModerationFact, data.audit_id)
    if fact is None:
        fact = ModerationFact(
            audit_id=data.audit_id,
            moderation_id=data.moderation_id,
            moderated_grade=data.moderated_grade,
            moderated_at=data.moderated_at,
        )
        session.add(fact)
    followup = _followup_of(session, data.audit_id)
    if followup is not None and followup.status == "open" and _overturns(followup, fact):
        _cancel(session, followup, fact, ctx.clock.now())


def on_audit_graded(session: Session, event: CloudEvent[EventData], ctx: SchedulerContext) -> None:
    data = _expect(event, AuditGraded)
    lock_for(session, data.reaudit_of or data.audit_id)
    fact = session.get(AuditFact, data.audit_id)
    if fact is None:
        fact = AuditFact(
            audit_id=data.audit_id,
            case_id=data.case_id,
            auditor_id=data.auditor_id,
            overall_grade=data.overall_grade,
            reaudit_of=data.reaudit_of,
            graded_at=data.graded_at,
        )
        session.add(fact)
    if data.reaudit_of is None:
        return
    followup = _followup_of(session, data.reaudit_of)
    if followup is not None and followup.status == "open":
        _complete(session, followup, fact, ctx, ctx.clock.now())


# --- people in -----------------------------------------------------------------------


def record_conversation(
    session: Session, followup_id: str, form: ConversationForm, ctx: SchedulerContext
) -> tuple[FollowUp, bool]:
    """The Head of Service records the conversation as held; the re-audit is then scheduled."""
    followup = session.get(FollowUp, followup_id)
    if followup is None:
        raise LookupError(followup_id)
    lock_for(session, followup.audit_id)
    session.refresh(followup)  # as it is now that we hold the audit's lock
    if followup.conversation_held_on is not None:
        same = (followup.conversation_held_on, followup.attendees, followup.agreed_actions) == (
            form.held_on,
            form.attendees,
            form.agreed_actions,
        )
        if same:
            return followup, True
        raise AlreadyRecorded(followup_id)
    _check_conversation(followup, form, ctx)
    now = ctx.clock.now()
    followup.conversation_held_on, followup.attendees = form.held_on, list(form.attendees)
    followup.agreed_actions = list(form.agreed_actions)
    followup.conversation_late = form.held_on > followup.conversation_due_on
    note(
        session,
        followup,
        now,
        "reflective conversation held",
        held_on=form.held_on.isoformat(),
        late=followup.conversation_late,
        recorded_by=form.recorded_by,
    )
    if followup.status == "open" and followup.step == FollowUpAction.REFLECTIVE_CONVERSATION:
        auditor = session.get(AuditFact, followup.audit_id)
        if auditor is None:
            raise NotYetKnown("the audit's grading has not reached the scheduler yet")
        _cancel_timers(session, followup)
        followup.step, followup.owner_id = FollowUpAction.REAUDIT, auditor.auditor_id
        followup.due_on = followup.reaudit_due_on = reaudit_due(form.held_on, ctx.calendar)
        _schedule_step(session, followup, ctx, now)
    session.add(followup)
    return followup, False


def _check_conversation(followup: FollowUp, form: ConversationForm, ctx: SchedulerContext) -> None:
    if followup.status == "cancelled":
        raise FollowUpRefused("followup", "this follow-up was cancelled")
    head = ctx.organisation.leads_of(followup.service_area).head_of_service
    if form.recorded_by != head:
        raise FollowUpRefused("recorded_by", "only the Head of Service of the area records it")
    today = ctx.clock.now().astimezone(UK).date()
    if form.held_on > today:
        raise FollowUpRefused("held_on", "must not be in the future")
    if form.held_on < followup.grading_day:
        raise FollowUpRefused("held_on", "must not be before the grading day")
    unknown = [p for p in form.attendees if p not in ctx.organisation.staff_by_id]
    if unknown:
        raise FollowUpRefused("attendees", f"unknown staff members: {', '.join(unknown)}")


# --- state changes -------------------------------------------------------------------


def _schedule_step(
    session: Session, followup: FollowUp, ctx: SchedulerContext, now: datetime
) -> None:
    """Publish FollowUpScheduled for the current step and plan its reminders and escalation."""
    scheduled = FollowUpScheduled(
        **step_fields(followup), service_area=followup.service_area, scheduled_at=now
    )
    add_event(session, new_event(scheduled, source=SOURCE, correlation_id=followup.audit_id))
    note(
        session,
        followup,
        now,
        f"{followup.step} scheduled",
        due_on=followup.due_on.isoformat(),
        owner_id=followup.owner_id,
    )
    for planned in step_timers(followup.due_on, ctx.calendar):
        at = fire_time(planned.day, ctx.starts_at_hour)
        if planned.kind is not TimerKind.OVERDUE and at < now:
            continue  # a reminder whose moment passed before the step existed says nothing new
        session.add(
            Timer(followup_id=followup.id, step=followup.step, kind=planned.kind, fire_at=at)
        )


def _complete(
    session: Session, followup: FollowUp, reaudit: AuditFact, ctx: SchedulerContext, now: datetime
) -> None:
    outcome = outcome_of(Grade(reaudit.overall_grade))
    escalated_to = (
        ctx.organisation.leads_of(followup.service_area).assistant_director
        if outcome is FollowUpOutcome.STILL_INADEQUATE
        else None
    )
    completed = FollowUpCompleted(
        **step_fields(followup),
        outcome=outcome,
        reaudit_id=reaudit.audit_id,
        escalated_to_id=escalated_to,
        completed_at=now,
    )
    followup.status, followup.outcome, followup.closed_at = "completed", outcome, now
    followup.reaudit_id = reaudit.audit_id
    followup.reaudit_graded_on = as_utc(reaudit.graded_at).astimezone(UK).date()
    _close(session, followup, now, "completed", outcome=outcome, reaudit_id=reaudit.audit_id)
    add_event(session, new_event(completed, source=SOURCE, correlation_id=followup.audit_id))


def _cancel(
    session: Session, followup: FollowUp, moderation: ModerationFact, now: datetime
) -> None:
    reason = f"Moderation regraded the audit as {moderation.moderated_grade.replace('_', ' ')}"
    cancelled = FollowUpCancelled(**step_fields(followup), reason=reason, cancelled_at=now)
    followup.status, followup.cancelled_reason, followup.closed_at = "cancelled", reason, now
    _close(
        session, followup, now, "cancelled", reason=reason, moderation_id=moderation.moderation_id
    )
    add_event(session, new_event(cancelled, source=SOURCE, correlation_id=followup.audit_id))


def _close(session: Session, followup: FollowUp, now: datetime, what: str, **detail: Any) -> None:
    session.add(followup)
    _cancel_timers(session, followup)
    note(session, followup, now, what, **detail)
    after_commit(session, metrics.FOLLOWUPS_CLOSED.labels(what, followup.service_area).inc)


def _cancel_timers(session: Session, followup: FollowUp) -> None:
    session.flush()
    session.execute(
        update(Timer)
        .where(col(Timer.followup_id) == followup.id, col(Timer.fired_at).is_(None))
        .values(cancelled=True)
    )


def note(session: Session, followup: FollowUp, now: datetime, what: str, **detail: Any) -> None:
    """Add a line to the follow-up's timeline."""
    session.add(TimelineEntry(followup_id=followup.id, at=now, what=what, detail=detail))


def step_fields(followup: FollowUp) -> dict[str, Any]:
    return {
        "case_id": followup.case_id,
        "followup_id": followup.id,
        "audit_id": followup.audit_id,
        "action": followup.step,
        "owner_id": followup.owner_id,
        "due_on": followup.due_on,
    }


def _overturns(followup: FollowUp, moderation: ModerationFact) -> bool:
    """Moderation overturns a finding only when the finding was the auditor's grade."""
    return followup.found_by == FoundBy.AUDITOR and moderation.moderated_grade != Grade.INADEQUATE


def _followup_of(session: Session, audit_id: str) -> FollowUp | None:
    return session.exec(select(FollowUp).where(FollowUp.audit_id == audit_id)).first()


def _reaudit_of(session: Session, audit_id: str) -> AuditFact | None:
    query = (
        select(AuditFact).where(AuditFact.reaudit_of == audit_id).order_by(col(AuditFact.graded_at))
    )
    return session.exec(query).first()


def _expect(event: CloudEvent[EventData], kind: type[E]) -> E:
    if not isinstance(event.data, kind):
        raise TypeError(f"expected {kind.__name__}, got {event.type}")
    return event.data
