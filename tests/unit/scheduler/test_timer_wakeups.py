"""The timers worker woken, not polled, and the gauges counted only when they may have moved
(issue 19), on SQLite with a controlled clock."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from services.scheduler.decisions import Rules
from services.scheduler.gauges import CHANGES, Counted, GaugeWorker, refresh_due
from services.scheduler.handlers import event_handlers
from services.scheduler.models import Timer
from services.scheduler.store import TIMERS_CHANNEL, SchedulerContext, plan_timer
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
        plan_timer(
            session, Timer(followup_id="FU-X", step="reaudit", kind="overdue", fire_at=GRADED)
        )
        session.rollback()
    assert WAKEUPS.count(TIMERS_CHANNEL) == before


def test_the_gauges_count_again_after_a_change_a_new_day_or_the_safety_period():
    day = date(2026, 11, 23)
    last = Counted(changes=3, day=day, at=100.0)
    assert refresh_due(None, 0, day, 0.0, 60)
    assert not refresh_due(last, 3, day, 159.0, 60)
    assert refresh_due(last, 4, day, 101.0, 60)  # a follow-up changed
    assert refresh_due(last, 3, day + timedelta(days=1), 101.0, 60)  # "overdue" moved on
    assert refresh_due(last, 3, day, 160.0, 60)  # changes this process cannot see


def test_the_gauge_worker_counts_only_when_a_follow_up_changed(world):
    engine, clock, _ctx, handlers = world
    counted: list[int] = []
    worker = GaugeWorker(lambda: counted.append(CHANGES.count()), clock, safety_seconds=3600)
    worker.step()
    worker.step()
    assert len(counted) == 1  # nothing changed since

    open_followup(engine, handlers)
    worker.step()
    worker.step()
    assert len(counted) == 2

    clock.at += timedelta(days=1)  # a follow-up may have become overdue
    worker.step()
    assert len(counted) == 3
