"""Use cases of programme allocations: the audit service's events in, a timer fired.

Each takes the allocation's lock before reading it (the lock order of
services/scheduler/timers.py), decides, saves. Events about one allocation arrive on four
topics, so in any order and perhaps more than once (services/scheduler/allocations.py says
how every order ends the same way).
"""

from datetime import datetime
from functools import partial

from sqlmodel import Session

from services.scheduler.allocation_store import (
    allocation_state,
    locked_allocation,
    save_allocation,
)
from services.scheduler.allocations import (
    AllocationTimer,
    Settlement,
    allocate,
    fire_allocation_timer,
    settle,
)
from services.scheduler.domain import TimerKind
from services.scheduler.models import AllocationRecord, Timer
from services.scheduler.store import SchedulerContext
from shared.events import (
    AuditAllocated,
    AuditDeclined,
    AuditExempted,
    AuditSubmitted,
    CloudEvent,
    EventData,
)
from shared.inbox import EventHandler


def allocation_handlers(ctx: SchedulerContext) -> dict[type[EventData], EventHandler]:
    """What the scheduler does with each event about a programme allocation."""
    return {
        AuditAllocated: partial(on_audit_allocated, ctx=ctx),
        AuditDeclined: on_allocation_settled,
        AuditExempted: on_allocation_settled,
        AuditSubmitted: on_allocation_settled,
    }


def on_audit_allocated(
    session: Session, event: CloudEvent[EventData], ctx: SchedulerContext
) -> None:
    data = event.data
    if not isinstance(data, AuditAllocated):
        raise TypeError(f"expected AuditAllocated, got {event.type}")
    row = locked_allocation(session, data.allocation_id)
    known = allocation_state(row) if row is not None else None
    save_allocation(session, row, allocate(known, data, ctx.clock.now(), ctx.rules))


def on_allocation_settled(session: Session, event: CloudEvent[EventData]) -> None:
    """Submitted, declined or exempted: the allocation's timers are called off."""
    data = event.data
    if not isinstance(data, AuditDeclined | AuditExempted | AuditSubmitted):
        raise TypeError(f"expected a settlement of an allocation, got {event.type}")
    settlement: Settlement = data
    row = locked_allocation(session, settlement.allocation_id)
    known = allocation_state(row) if row is not None else None
    save_allocation(session, row, settle(known, settlement))


def fire_allocation(session: Session, timer: Timer, now: datetime, ctx: SchedulerContext) -> bool:
    """Fire an allocation's timer (already marked fired by the pass, which holds the
    allocation's lock); whether it said anything."""
    row = session.get(AllocationRecord, timer.allocation_id)
    if row is None:
        return False
    planned = AllocationTimer(TimerKind(timer.kind), timer.fire_at, timer.sequence)
    decision = fire_allocation_timer(allocation_state(row), planned, now, ctx.rules)
    save_allocation(session, row, decision)
    return bool(decision.events)
