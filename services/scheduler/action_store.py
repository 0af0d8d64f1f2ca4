"""Agreed actions in and out of the database: load one under its audit's lock, save an
`ActionDecision` (the row, its timers on the timer table, its events in the outbox), and
remember the change requests already applied, all in the caller's transaction.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from services.scheduler.action_decisions import ActionDecision
from services.scheduler.actions import ACTION_STEP, ActionState, Line
from services.scheduler.models import ActionRecord, ActionRequest, Timer
from services.scheduler.store import SOURCE, NewTimer, plan_timer, timers_so_far
from shared.db import lock_for
from shared.errors import Conflict, NotFound
from shared.events import new_event
from shared.events.vocabulary import ActionOrigin, ActionStatus, ServiceArea
from shared.outbox import add_event


def _lines(stored: list[dict[str, Any]], text: str) -> tuple[Line, ...]:
    return tuple(
        Line(line[text], line["by"], datetime.fromisoformat(line["at"])) for line in stored
    )


def _stored(lines: tuple[Line, ...], text: str) -> list[dict[str, Any]]:
    return [{text: line.text, "by": line.by, "at": line.at.isoformat()} for line in lines]


def action_state(row: ActionRecord) -> ActionState:
    """The action as the rules see it, enums and all."""
    return ActionState(
        **{
            **row.model_dump(),
            "origin": ActionOrigin(row.origin),
            "service_area": ServiceArea(row.service_area),
            "status": ActionStatus(row.status),
            "evidence": _lines(row.evidence, "note"),
            "history": _lines(row.history, "what"),
        }
    )


def lock_key(row: ActionRecord) -> str:
    """Actions take their audit's lock, as its follow-up and their timers do."""
    return row.audit_id or row.origin_id


def locked_action(session: Session, action_id: str) -> ActionRecord:
    """The action, read again once this transaction holds its audit's lock."""
    row = session.get(ActionRecord, action_id)
    if row is None:
        raise NotFound(f"no action {action_id!r}")
    lock_for(session, lock_key(row))
    session.refresh(row)
    return row


def save_action(
    session: Session, row: ActionRecord | None, decision: ActionDecision, now: datetime
) -> ActionRecord:
    """Write what `decision` changes onto `row` (a new row when None), plan its timers and
    queue its events."""
    after = decision.action
    values = {
        **{name: getattr(after, name) for name in ActionRecord.model_fields},
        "evidence": _stored(after.evidence, "note"),
        "history": _stored(after.history, "what"),
    }
    row = ActionRecord(**values) if row is None else row.sqlmodel_update(values)
    session.add(row)
    if decision.cancels_timers:
        timers_so_far(session)
        session.execute(
            update(Timer)
            .where(col(Timer.action_id) == after.id, col(Timer.fired_at).is_(None))
            .values(cancelled=True)
        )
    for timer in decision.timers:
        plan_timer(
            session,
            NewTimer(
                followup_id=after.origin_id,
                step=ACTION_STEP,
                action_id=after.id,
                kind=timer.kind,
                sequence=_next_sequence(session, after.id, timer.kind),
                fire_at=timer.fire_at,
            ),
        )
    for data in decision.events:
        add_event(session, new_event(data, source=SOURCE, correlation_id=after.audit_id))
    return row


def _next_sequence(session: Session, action_id: str, kind: str) -> int:
    """A new timer of a kind the action had before (a due date moved, a repeat) numbers on."""
    timers_so_far(session)
    query = select(func.max(Timer.sequence)).where(Timer.action_id == action_id, Timer.kind == kind)
    last = session.exec(query).one()
    return 0 if last is None else last + 1


def already_applied(session: Session, request_id: str, action_id: str) -> bool:
    """Whether this request changed this action before; the same id for another is a conflict."""
    seen = session.get(ActionRequest, request_id)
    if seen is None:
        return False
    if seen.action_id != action_id:
        raise Conflict(f"request_id {request_id!r} was used for another action")
    return True


def remember_request(session: Session, request_id: str, row: ActionRecord, now: datetime) -> None:
    session.add(
        ActionRequest(request_id=request_id, action_id=row.id, origin_id=row.origin_id, at=now)
    )


def actions_of(session: Session, origin_ids: list[str]) -> dict[str, list[ActionState]]:
    """The actions agreed in each origin, in the order they were agreed."""
    found: dict[str, list[ActionState]] = {origin_id: [] for origin_id in origin_ids}
    if not origin_ids:
        return found
    query = (
        select(ActionRecord)
        .where(col(ActionRecord.origin_id).in_(origin_ids))
        .order_by(col(ActionRecord.origin_id), col(ActionRecord.position))
    )
    for row in session.exec(query).all():
        found[row.origin_id].append(action_state(row))
    return found
