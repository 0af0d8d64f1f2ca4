"""Durable timers: reminders and escalations are rows, fired by whichever replica gets them.

Each firing marks the timer and writes its event to the outbox in one transaction, so a crash
before the commit leaves the timer to fire again and a crash after it leaves the event to the
relay: never lost, never doubled. On PostgreSQL replicas claim due timers with
FOR UPDATE SKIP LOCKED; on SQLite the single writer lock serialises them.
"""

import asyncio
import contextlib
import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.scheduler import metrics
from services.scheduler.domain import TimerKind, fire_time, next_escalation
from services.scheduler.handlers import SOURCE, SchedulerContext, note, step_fields
from services.scheduler.models import FollowUp, Timer
from services.scheduler.queries import refresh_gauges
from shared.calendar import UK
from shared.db import after_commit, as_utc, is_postgresql, lock_for, transaction
from shared.events import FollowUpOverdue, ReminderDue, new_event
from shared.events.vocabulary import FollowUpAction, ReminderKind
from shared.outbox import add_event

log = logging.getLogger(__name__)
GAUGE_REFRESH_SECONDS = 15.0


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
            )
            if is_postgresql(self._engine):
                query = query.with_for_update(skip_locked=True)
            timers = list(session.exec(query).all())
            for timer in timers:
                self._fire(session, timer, now)
            return len(timers)

    def _fire(self, session: Session, timer: Timer, now: datetime) -> None:
        timer.fired_at = now
        session.add(timer)
        followup = session.get(FollowUp, timer.followup_id)
        if followup is not None:
            lock_for(session, followup.audit_id)  # not while a handler completes or cancels it
            session.refresh(followup)
        if followup is None or followup.status != "open" or followup.step != timer.step:
            return  # the step moved on after the timer was planned: nothing to say
        if timer.kind == TimerKind.OVERDUE:
            data: ReminderDue | FollowUpOverdue = self._escalation(session, followup, timer, now)
        else:
            data = ReminderDue(**step_fields(followup), reminder=ReminderKind(timer.kind))
        add_event(session, new_event(data, source=SOURCE, correlation_id=followup.audit_id))
        note(session, followup, now, timer.kind, sequence=timer.sequence)
        after_commit(session, metrics.TIMERS_FIRED.labels(timer.kind, timer.step).inc)

    def _escalation(
        self, session: Session, followup: FollowUp, timer: Timer, now: datetime
    ) -> FollowUpOverdue:
        leads = self._ctx.organisation.leads_of(followup.service_area)
        to = (
            leads.assistant_director
            if followup.step == FollowUpAction.REFLECTIVE_CONVERSATION
            else leads.head_of_service
        )
        calendar = self._ctx.calendar
        today = now.astimezone(UK).date()
        # Repeat from today, not from the missed day, so a long outage does not fire a burst.
        fired_day = max(as_utc(timer.fire_at).astimezone(UK).date(), today)
        repeat_on = next_escalation(fired_day, self._ctx.overdue_every, calendar)
        session.add(
            Timer(
                followup_id=followup.id,
                step=followup.step,
                kind=TimerKind.OVERDUE,
                sequence=timer.sequence + 1,
                fire_at=fire_time(repeat_on, self._ctx.starts_at_hour),
            )
        )
        days = max(1, calendar.working_days_between(followup.due_on, today))
        return FollowUpOverdue(
            **step_fields(followup), escalated_to_id=to, working_days_overdue=days
        )

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        """Fire timers until `stop` is set; due times in the past fire on the first pass."""
        last_gauges = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                while await asyncio.to_thread(self.fire_due) == self._batch_size:
                    pass
                if loop.time() - last_gauges > GAUGE_REFRESH_SECONDS:
                    await asyncio.to_thread(refresh_gauges, self._engine, self._ctx.clock)
                    last_gauges = loop.time()
            except Exception:
                log.exception("timer pass failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)
