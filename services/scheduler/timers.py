"""Durable timers: reminders and escalations are rows, fired by whichever replica gets them.

Each firing marks the timer and writes its event to the outbox in one transaction, so a crash
before the commit leaves the timer to fire again and a crash after it leaves the event to the
relay: never lost, never doubled.

Lock order, everywhere in the scheduler: first the audit's advisory lock (`lock_for`), then
its follow-up and timer rows. Recording a conversation, a reassignment and every handler take
them so (services/scheduler/handlers.py `_locked`); a timer pass does too, one timer per
transaction: it reads the due timers without locking them, then for each takes its audit's
lock without waiting (`try_lock_for`: a replica or a person busy with that audit makes the pass
leave the timer to the next one) and reads the timer again under it. Taking the timer rows
first, as the pass once did with FOR UPDATE SKIP LOCKED, deadlocked against a conversation
recorded at the moment its escalation fired. On SQLite the single writer lock serialises all.

An agreed action's timers are rows of the same table on its follow-up (`action_id` names the
action), so they fire in the same pass under the same audit lock.

The timers worker is woken, not polled: every new timer is added by
services/scheduler/store.py `plan_timer`, which wakes the worker once its transaction commits
(`TIMERS_CHANNEL`, in every replica), and after a pass the worker sleeps until the next timer is
due (`TimerService.step`, from one look-up of the index of timers still to fire). Its poll is
only a safety net: for a lost notification, and for a clock moved on by a test.

A programme allocation has no audit yet, so it has a lock of its own
(services/scheduler/allocation_store.py `allocation_lock_key`, through the same `lock_for` /
`try_lock_for`): first the allocation's lock, then its allocation and timer rows; its events'
handlers take them so, and the pass takes that lock for an allocation's timer (`allocation_id`
names it) as it takes an audit's for the others. No transaction holds an allocation's lock
and an audit's, so the two never wait on each other in opposite orders.
"""

from datetime import datetime
from functools import partial

from sqlalchemy import ColumnElement, Engine, func
from sqlmodel import Session, col, select

from services.scheduler import metrics
from services.scheduler.action_handlers import fire_action
from services.scheduler.allocation_handlers import fire_allocation
from services.scheduler.allocation_store import allocation_lock_key
from services.scheduler.decisions import TimerPlan, fire_timer
from services.scheduler.domain import TimerKind
from services.scheduler.models import FollowUp, Timer, still_due
from services.scheduler.store import SchedulerContext, save, state_of
from shared.db import after_commit, retried, transaction, try_lock_for
from shared.events.vocabulary import FollowUpAction

BUSY_RETRY_SECONDS = 0.1
"""How soon a pass runs again when a timer was due but its audit's lock was busy (a person's
or another replica's transaction, which ends in milliseconds)."""


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    # `still_due` as written, so that the scan reads the partial index of timers still to fire.
    return (*still_due(), col(Timer.fire_at) <= now)


def wait_for_next(next_fire_at: datetime | None, now: datetime) -> float | bool:
    """What the timers worker waits for once nothing more can be fired now: the seconds until
    the next timer is due; a short retry when one is due already (its lock was busy); or, with
    no timer planned at all, only a wake-up or the safety poll (False)."""
    if next_fire_at is None:
        return False
    return max((next_fire_at - now).total_seconds(), BUSY_RETRY_SECONDS)


def _lock_key(audit_id: str | None, allocation_id: str) -> str | None:
    """The lock a timer fires under: its allocation's, or its follow-up's audit's."""
    return allocation_lock_key(allocation_id) if allocation_id else audit_id


class TimerService:
    def __init__(self, engine: Engine, ctx: SchedulerContext, batch_size: int = 100) -> None:
        self._engine = engine
        self._ctx = ctx
        self._batch_size = batch_size
        self._last_batch = 0

    def fire_due(self) -> int:
        """Fire up to one batch of timers whose time has come; returns how many this replica
        fired (others may have taken some)."""
        now = self._ctx.clock.now()
        with Session(self._engine) as session:
            query = (
                select(Timer.id, FollowUp.audit_id, Timer.allocation_id)
                .join(FollowUp, col(FollowUp.id) == Timer.followup_id, isouter=True)
                .where(*_due(now))
                .order_by(col(Timer.fire_at), col(Timer.id))
                .limit(self._batch_size)
            )
            due = list(session.exec(query).all())
        self._last_batch = len(due)
        return sum(
            retried(partial(self._fire_one, timer_id, _lock_key(audit_id, allocation_id), now))
            for timer_id, audit_id, allocation_id in due
        )

    def step(self) -> bool | float:
        """One pass of the timers worker: True when a full batch was due and more may be;
        else the seconds until the next timer is due (`wait_for_next`)."""
        self.fire_due()
        if self._last_batch == self._batch_size:
            return True
        return wait_for_next(self.next_fire_at(), self._ctx.clock.now())

    def next_fire_at(self) -> datetime | None:
        """When the soonest timer still to fire is due (None: none is planned)."""
        with Session(self._engine) as session:
            query = select(func.min(Timer.fire_at)).where(*still_due())
            return session.exec(query).one()

    def _fire_one(self, timer_id: int | None, lock_key: str | None, now: datetime) -> bool:
        """Fire one timer in its own transaction, under its audit's (or allocation's) lock;
        False when another holds that lock or fired the timer first."""
        with transaction(self._engine) as session:
            if lock_key is not None and not try_lock_for(session, lock_key):
                return False
            query = select(Timer).where(Timer.id == timer_id, *_due(now)).with_for_update()
            timer = session.exec(query).first()
            if timer is None:
                return False
            self._fire(session, timer, now)
            return True

    def _fire(self, session: Session, timer: Timer, now: datetime) -> None:
        timer.fired_at = now
        session.add(timer)
        if timer.allocation_id:
            if fire_allocation(session, timer, now, self._ctx):
                after_commit(session, metrics.TIMERS_FIRED.labels(timer.kind, timer.step).inc)
            return
        if timer.action_id:
            if fire_action(session, timer, now, self._ctx):
                after_commit(session, metrics.TIMERS_FIRED.labels(timer.kind, timer.step).inc)
            return
        row = session.get(FollowUp, timer.followup_id)
        if row is None:
            return
        planned = TimerPlan(
            FollowUpAction(timer.step), TimerKind(timer.kind), timer.fire_at, timer.sequence
        )
        decision = fire_timer(state_of(row), planned, now, self._ctx.rules)
        save(session, row, decision, now)
        if decision.events:
            after_commit(session, metrics.TIMERS_FIRED.labels(timer.kind, timer.step).inc)
