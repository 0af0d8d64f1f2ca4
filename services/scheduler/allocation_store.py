"""Programme allocations in and out of the database: load one under its own lock, save an
`AllocationDecision` (the row, its timers on the timer table, its events in the outbox), all in
the caller's transaction.
"""

from sqlalchemy import update
from sqlmodel import Session, col

from services.scheduler import metrics
from services.scheduler.allocations import ALLOCATION_STEP, AllocationDecision, AllocationState
from services.scheduler.models import AllocationRecord, Timer
from services.scheduler.store import SOURCE, NewTimer, plan_timer, timers_so_far
from shared.db import after_commit, lock_for
from shared.events import new_event
from shared.events.vocabulary import AllocationStatus, ServiceArea
from shared.outbox import add_event


def allocation_lock_key(allocation_id: str) -> str:
    """The advisory lock of one allocation (services/scheduler/timers.py, lock order). An
    allocation has no audit yet, so it has a lock of its own, named apart from audit ids."""
    return f"allocation:{allocation_id}"


def allocation_state(row: AllocationRecord) -> AllocationState:
    """The allocation as the rules see it, enums and all."""
    return AllocationState(
        **{
            **row.model_dump(),
            "service_area": ServiceArea(row.service_area),
            "status": AllocationStatus(row.status),
        }
    )


def locked_allocation(session: Session, allocation_id: str) -> AllocationRecord | None:
    """The allocation (None when not yet known), read once this transaction holds its lock."""
    lock_for(session, allocation_lock_key(allocation_id))
    row = session.get(AllocationRecord, allocation_id)
    if row is not None:
        session.refresh(row)  # as committed by whoever held the lock before
    return row


def save_allocation(
    session: Session, row: AllocationRecord | None, decision: AllocationDecision
) -> AllocationRecord:
    """Write what `decision` changes onto `row` (a new row when None), call off or plan its
    timers and queue its events."""
    after = decision.allocation
    was_settled = row is not None and row.status != AllocationStatus.ALLOCATED
    values = {name: getattr(after, name) for name in AllocationRecord.model_fields}
    row = AllocationRecord(**values) if row is None else row.sqlmodel_update(values)
    session.add(row)
    if decision.cancels_timers:
        timers_so_far(session)
        session.execute(
            update(Timer)
            .where(col(Timer.allocation_id) == after.id, col(Timer.fired_at).is_(None))
            .values(cancelled=True)
        )
    for timer in decision.timers:
        plan_timer(
            session,
            NewTimer(
                followup_id="",
                step=ALLOCATION_STEP,
                allocation_id=after.id,
                kind=timer.kind,
                sequence=timer.sequence,
                fire_at=timer.fire_at,
            ),
        )
    for data in decision.events:
        add_event(session, new_event(data, source=SOURCE, correlation_id=after.id))
    if not was_settled and after.status is not AllocationStatus.ALLOCATED:
        after_commit(session, metrics.ALLOCATIONS_SETTLED.labels(after.status).inc)
    return row
