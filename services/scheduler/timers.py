"""Durable timers: reminders and escalations are rows, fired by whichever replica gets them.

Each firing marks the timer and writes its event to the outbox in one transaction, so a crash
before the commit leaves the timer to fire again and a crash after it leaves the event to the
relay: never lost, never doubled. On PostgreSQL replicas claim due timers with
FOR UPDATE SKIP LOCKED; on SQLite the single writer lock serialises them.
"""

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.scheduler import metrics
from services.scheduler.decisions import TimerPlan, fire_timer
from services.scheduler.domain import TimerKind
from services.scheduler.models import FollowUp, Timer
from services.scheduler.store import SchedulerContext, save, state_of
from shared.db import after_commit, lock_for, transaction
from shared.events.vocabulary import FollowUpAction


class TimerService:
    def __init__(self, engine: Engine, ctx: SchedulerContext, batch_size: int = 100) -> None:
        self._engine = engine
        self._ctx = ctx
        self._batch_size = batch_size

    def fire_due(self) -> int:
        """Fire up to one batch of timers whose time has come; returns how many."""
        with transaction(self._engine) as session:
            now = self._ctx.clock.now()
            query = (
                select(Timer)
                .where(
                    col(Timer.fired_at).is_(None),
                    col(Timer.cancelled).is_(False),
                    col(Timer.fire_at) <= now,
                )
                .order_by(col(Timer.fire_at), col(Timer.id))
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            )
            timers = list(session.exec(query).all())
            for timer in timers:
                self._fire(session, timer, now)
            return len(timers)

    def step(self) -> bool:
        """One pass of the timers worker; True when a full batch fired and more may be due."""
        return self.fire_due() == self._batch_size

    def _fire(self, session: Session, timer: Timer, now: datetime) -> None:
        timer.fired_at = now
        session.add(timer)
        row = session.get(FollowUp, timer.followup_id)
        if row is None:
            return
        lock_for(session, row.audit_id)  # not while a handler completes or cancels it
        session.refresh(row)
        planned = TimerPlan(
            FollowUpAction(timer.step), TimerKind(timer.kind), timer.fire_at, timer.sequence
        )
        decision = fire_timer(state_of(row), planned, now, self._ctx.rules)
        save(session, row, decision, now)
        if decision.events:
            after_commit(session, metrics.TIMERS_FIRED.labels(timer.kind, timer.step).inc)
