"""The timers worker woken, not polled, and the gauges counted only when they may have moved
(issue 19), on SQLite with a controlled clock."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from services.scheduler.decisions import Rules
from services.scheduler.gauges import (
    GAUGES_CHANNEL,
    followups_changed,
    gauges_step,
    seconds_to_next_uk_day,
)
from services.scheduler.handlers import event_handlers
from services.scheduler.models import Timer
from services.scheduler.store import TIMERS_CHANNEL, NewTimer, SchedulerContext, plan_timer
from services.scheduler.timers import BUSY_RETRY_SECONDS, TimerService, wait_for_next
from shared.calendar import WorkingDayCalendar
from shared.clock import FixedClock
from shared.events import InadequateFound, new_event
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.wakeup import WAKEUPS
from tests.factories import audit_graded

GRADED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday; conversation due Monday 30th


@pytest.fixture
def world(sqlite_engine):
    upgrade("scheduler", str(sqlite_engine.url))
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    rules = Rules(load_organisation(), WorkingDayCalendar(), overdue_every=2, starts_at_hour=8)
    ctx = SchedulerContext(rules, clock)
    return sqlite_engine, clock, ctx, event_handlers(ctx)


def deliver(engine, handlers, data) -> None:
    process_once(engine, "scheduler", new_event(data, source="/tests"), handlers[type(data)])


def open_followup(engine, handlers) -> None:
    deliver(
        engine,
        handlers,
        audit_graded("CASE-1", "inadequate", "AUD-1", auditor_id="S0004", graded_at=GRADED),
    )
    deliver(
        engine,
        handlers,
        InadequateFound(
            case_id="CASE-1",
            audit_id="AUD-1",
            service_area="early_help",
            team_id="EH-NORTH",
            graded_at=GRADED,
            found_by="auditor",
        ),
    )


def planned(engine) -> list[datetime]:
    with Session(engine) as session:
        query = select(Timer.fire_at).where(col(Timer.fired_at).is_(None)).order_by(Timer.fire_at)
        return list(session.exec(query).all())


def test_a_pass_returns_the_seconds_until_the_next_timer_is_due(world):
    engine, clock, ctx, handlers = world
    timers = TimerService(engine, ctx)
    assert timers.step() is False  # no timer planned: only a wake-up or the safety poll

    open_followup(engine, handlers)
    soonest, following = planned(engine)[:2]
    assert timers.step() == (soonest - clock.now()).total_seconds()

    clock.at = soonest  # the first is due: the pass fires it, then waits for the next
    assert timers.step() == (following - soonest).total_seconds()
    assert planned(engine)[0] == following


def test_a_timer_due_but_not_fired_is_tried_again_soon_not_at_once():
    now = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert wait_for_next(None, now) is False
    assert wait_for_next(now + timedelta(seconds=42.5), now) == 42.5
    assert wait_for_next(now - timedelta(seconds=5), now) == BUSY_RETRY_SECONDS  # lock busy


def test_planning_a_timer_wakes_the_timers_worker_once_it_commits(world):
    engine, _clock, _ctx, handlers = world
    before = WAKEUPS.count(TIMERS_CHANNEL)
    open_followup(engine, handlers)  # the finding plans the follow-up's timers
    assert WAKEUPS.count(TIMERS_CHANNEL) == before + 1  # once for the transaction


def test_a_timer_planned_in_a_rolled_back_transaction_wakes_nobody(world):
    engine, _clock, _ctx, _handlers = world
    before = WAKEUPS.count(TIMERS_CHANNEL)
    with Session(engine) as session:
        plan_timer(session, NewTimer("FU-X", "reaudit", "overdue", 0, GRADED))
        session.rollback()
    assert WAKEUPS.count(TIMERS_CHANNEL) == before


def test_the_gauges_wait_for_the_next_uk_day_after_counting():
    counted: list[int] = []
    noon_in_winter = FixedClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert gauges_step(lambda: counted.append(1), noon_in_winter) == 12 * 3600
    assert counted == [1]
    # In summer the UK day starts at 23:00 UTC the day before.
    summer = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)
    assert seconds_to_next_uk_day(summer) == 30 * 60
    # The spring clock change: Sunday 29 March 2026 has 23 hours.
    assert seconds_to_next_uk_day(datetime(2026, 3, 29, 0, 0, tzinfo=UTC)) == 23 * 3600


def test_a_follow_up_change_wakes_the_gauges_once_committed(world):
    engine, _clock, _ctx, handlers = world
    before = WAKEUPS.count(GAUGES_CHANNEL)
    open_followup(engine, handlers)
    assert WAKEUPS.count(GAUGES_CHANNEL) > before
    after = WAKEUPS.count(GAUGES_CHANNEL)
    with Session(engine) as session:
        followups_changed(session)
        session.rollback()
    assert WAKEUPS.count(GAUGES_CHANNEL) == after
