"""Follow-ups in and out of the database: load the state and facts, save a `Decision`.

What the event handlers and the timers share. Saving writes the follow-up, its timeline lines
and timers, and queues its events in the outbox, all in the caller's transaction; once that
commits, the timers worker wakes for the new timers (`plan_timer`) and the gauges know to count
again (services/scheduler/gauges.py).
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.scheduler import metrics
from services.scheduler.decisions import Decision, Facts, Moderation, Reaudit, Rules
from services.scheduler.followup import FollowUpState, FollowUpStatus
from services.scheduler.gauges import followups_changed
from services.scheduler.models import (
    ActionRecord,
    AuditFact,
    FollowUp,
    ModerationFact,
    RefusedReauditRecord,
    TimelineEntry,
    Timer,
)
from shared.clock import Clock
from shared.db import (
    after_commit,
    insert_at_commit,
    insert_waiting_now,
    lock_all,
    read_ahead,
    read_rows_ahead,
    row_read_ahead,
)
from shared.events import AuditGraded, CloudEvent, InadequateFound, new_event
from shared.events.vocabulary import (
    ActionStatus,
    FollowUpAction,
    FollowUpOutcome,
    FoundBy,
    Grade,
    ServiceArea,
)
from shared.outbox import add_event
from shared.wakeup import wake_after_commit

SOURCE = "/qa/scheduler"
TIMERS_CHANNEL = "timers"
"""The wake-up channel of the timers worker (shared.wakeup, services/scheduler/timers.py)."""


@dataclass(frozen=True)
class SchedulerContext:
    rules: Rules
    clock: Clock


def state_of(row: FollowUp) -> FollowUpState:
    """The follow-up as the rules see it, enums and all."""
    fields = row.model_dump()
    return FollowUpState(
        **{
            **fields,
            "service_area": ServiceArea(row.service_area),
            "found_by": FoundBy(row.found_by),
            "status": FollowUpStatus(row.status),
            "step": FollowUpAction(row.step),
            "attendees": tuple(row.attendees),
            "agreed_actions": tuple(row.agreed_actions),
            "outcome": FollowUpOutcome(row.outcome) if row.outcome else None,
        }
    )


def followup_of(session: Session, audit_id: str) -> FollowUp | None:
    return row_read_ahead(session, FollowUp, "audit_id", audit_id)


def audit_fact(session: Session, audit_id: str) -> AuditFact | None:
    """The audit's grading as the scheduler learnt it (None: not yet)."""
    return row_read_ahead(session, AuditFact, "audit_id", audit_id)


def facts_of(session: Session, audit_id: str, followup: FollowUp | None) -> Facts:
    """The audit's grading, its moderation and its re-audits not yet judged, as far as known;
    `followup` is the audit's follow-up (None before it is opened), which every caller has."""
    audit = audit_fact(session, audit_id)
    moderation = row_read_ahead(session, ModerationFact, "audit_id", audit_id)
    return Facts(
        auditor_id=audit.auditor_id if audit is not None else None,
        team_manager_id=audit.team_manager_id if audit is not None else None,
        moderation=(
            Moderation(moderation.moderation_id, Grade(moderation.moderated_grade))
            if moderation is not None
            else None
        ),
        reaudits=_unjudged_reaudits(session, audit_id, followup),
        open_actions=_open_actions(session, followup),
        held=_held_reaudit(session, followup),
    )


def _open_actions(session: Session, followup: FollowUp | None) -> int:
    if followup is None:
        return 0
    query = select(func.count()).where(
        ActionRecord.origin_id == followup.id, ActionRecord.status == ActionStatus.OPEN
    )
    return session.exec(query).one()


def _held_reaudit(session: Session, followup: FollowUp | None) -> Reaudit | None:
    """The accepted re-audit of a follow-up still open: held while its actions are open."""
    if followup is None or followup.status != FollowUpStatus.OPEN or not followup.reaudit_id:
        return None
    fact = session.get(AuditFact, followup.reaudit_id)
    return _reaudit(fact) if fact is not None else None


def _reaudit(fact: AuditFact) -> Reaudit:
    return Reaudit(
        fact.audit_id,
        Grade(fact.overall_grade),
        fact.graded_at,
        fact.auditor_id,
        fact.team_manager_id,
    )


def _unjudged_reaudits(
    session: Session, audit_id: str, followup: FollowUp | None
) -> tuple[Reaudit, ...]:
    """Re-audits of the audit neither refused nor the one that completed its follow-up."""
    facts = read_ahead(session).take(
        (REAUDITS, audit_id), lambda: session.exec(_reaudits_of([audit_id])).all()
    )
    accepted = followup.reaudit_id if followup is not None else None
    return tuple(_reaudit(fact) for fact in facts if fact.audit_id != accepted)


def _reaudits_of(audit_ids: Sequence[str]) -> SelectOfScalar[AuditFact]:
    """The re-audits of `audit_ids` not refused, earliest graded first."""
    refused = select(RefusedReauditRecord.audit_id)
    return (
        select(AuditFact)
        .where(col(AuditFact.reaudit_of).in_(audit_ids), col(AuditFact.audit_id).not_in(refused))
        .order_by(col(AuditFact.graded_at), col(AuditFact.audit_id))
    )


REAUDITS = "reaudits"


def read_audits_ahead(session: Session, events: Sequence[CloudEvent[Any]]) -> None:
    """For a batch of findings and gradings, before any is handled (shared.inbox
    `reads_ahead`): each audit's lock, and what the handlers read about it, a statement per
    table for all of them: a finding's follow-up and facts, a grading's own fact."""
    locks: list[str] = []
    found: list[tuple[CloudEvent[Any], str]] = []  # (event, audit id)
    graded: list[tuple[CloudEvent[Any], str]] = []
    for event in events:
        data = event.data
        if isinstance(data, InadequateFound):
            locks.append(data.audit_id)
            found.append((event, data.audit_id))
        elif isinstance(data, AuditGraded):
            locks.append(data.reaudit_of or data.audit_id)
            graded.append((event, data.audit_id))
    lock_all(session, locks)
    read_rows_ahead(session, AuditFact, "audit_id", [*found, *graded])
    read_rows_ahead(session, FollowUp, "audit_id", found)
    read_rows_ahead(session, ModerationFact, "audit_id", found)
    reaudits: dict[str, list[AuditFact]] = {audit_id: [] for _, audit_id in found}
    for fact in session.exec(_reaudits_of(list(reaudits))) if found else ():
        reaudits[str(fact.reaudit_of)].append(fact)
    ahead = read_ahead(session)
    for event, audit_id in found:
        ahead.keep(event, (REAUDITS, audit_id), list(reaudits[audit_id]))


def save(session: Session, row: FollowUp | None, decision: Decision, now: datetime) -> FollowUp:
    """Write what `decision` changes onto `row` (a new row when None) and queue its events."""
    after = decision.followup
    was_open = row is None or row.status == FollowUpStatus.OPEN
    # Its fields as they are: asdict would deep-copy every date and enum, a tenth of the CPU
    # of opening a follow-up.
    values = {**vars(after), "attendees": list(after.attendees)}
    values["agreed_actions"] = list(after.agreed_actions)
    row = FollowUp(**values) if row is None else row.sqlmodel_update(values)
    session.add(row)
    followups_changed(session)
    if decision.cancels_timers:
        _cancel_timers(session, row.id)
    for note in decision.notes:
        line = {"followup_id": row.id, "at": now, "what": note.what, "detail": note.detail}
        insert_at_commit(session, TIMELINE, line)  # read only by people, after the commit
    for timer in decision.timers:
        plan_timer(session, NewTimer(row.id, timer.step, timer.kind, timer.sequence, timer.fire_at))
    for data in decision.events:
        add_event(session, new_event(data, source=SOURCE, correlation_id=after.audit_id))
    for refused in decision.refused:
        session.add(RefusedReauditRecord(followup_id=row.id, refused_at=now, **asdict(refused)))
        after_commit(session, metrics.REAUDITS_REFUSED.labels(refused.reason).inc)
    if was_open and after.status is not FollowUpStatus.OPEN:
        closed = metrics.FOLLOWUPS_CLOSED.labels(after.status, after.service_area)
        after_commit(session, closed.inc)
    return row


TIMERS: Table = Timer.__table__  # type: ignore[attr-defined]
TIMELINE: Table = TimelineEntry.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NewTimer:
    """A timer row to add (services/scheduler/models.py `Timer`, whose key it fills in)."""

    followup_id: str
    step: str
    kind: str
    sequence: int
    fire_at: datetime
    action_id: str = ""
    allocation_id: str = ""


def plan_timer(session: Session, timer: NewTimer) -> None:
    """Add `timer` in the caller's transaction, and wake the timers worker once it commits: the
    new timer may be due before the one the worker sleeps until. Every new timer row is added
    here (none is moved: a changed due date cancels its timers and plans others).

    The rows go in together as the transaction commits, a statement for all (`insert_at_commit`,
    cheaper than a model each); a statement about timers before that calls `timers_so_far`."""
    insert_at_commit(session, TIMERS, {**vars(timer), "fired_at": None, "cancelled": False})
    wake_after_commit(session, TIMERS_CHANNEL)  # once per transaction, however many timers


def timers_so_far(session: Session) -> None:
    """Before a statement about timers in a transaction that may have planned some: those
    planned and everything they follow written first, so that it sees them."""
    session.flush()
    insert_waiting_now(session, TIMERS)


def _cancel_timers(session: Session, followup_id: str) -> None:
    """The follow-up's own timers; its actions' keep going (they end with each action)."""
    timers_so_far(session)
    session.execute(
        update(Timer)
        .where(
            col(Timer.followup_id) == followup_id,
            col(Timer.action_id) == "",
            col(Timer.fired_at).is_(None),
        )
        .values(cancelled=True)
    )
