"""Replicas at the same moment, on SQLite and on PostgreSQL: the same test bodies on both.

On PostgreSQL a per-audit advisory lock serialises the facts of one audit and replicas claim
due timers with SKIP LOCKED; on SQLite the single write lock does both. Either way each timer
fires once and every order of arrival ends in the same state.
"""

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.scheduler.decisions import Rules
from services.scheduler.handlers import event_handlers
from services.scheduler.models import FollowUp, Timer
from services.scheduler.store import SchedulerContext
from services.scheduler.timers import TimerService
from shared.calendar import WorkingDayCalendar
from shared.clock import FixedClock
from shared.db import create_db_engine
from shared.events import EventData, InadequateFound, ModerationCompleted, new_event
from shared.events.topics import FOLLOWUP_OVERDUE, FOLLOWUP_REMINDER_DUE
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.outbox import OutboxMessage

GRADED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Replicas:
    """Two scheduler replicas on one database, each with its own connections."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url.render_as_string(hide_password=False)
        upgrade("scheduler", url)
        self.clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
        rules = Rules(load_organisation(), WorkingDayCalendar(), overdue_every=2, starts_at_hour=8)
        self.ctx = SchedulerContext(rules, self.clock)
        self.handlers = event_handlers(self.ctx)
        self.engines = [engine, create_db_engine(url)]

    def deliver(self, replica: int, data: EventData) -> None:
        event = new_event(data, source="/tests")
        process_once(self.engines[replica], "scheduler", event, self.handlers[type(data)])

    def events(self, *topics: str) -> list[dict]:
        with Session(self.engines[0]) as session:
            query = select(OutboxMessage).order_by(col(OutboxMessage.id))
            if topics:
                query = query.where(col(OutboxMessage.topic).in_(topics))
            return [json.loads(row.value) for row in session.exec(query).all()]

    def followups(self) -> list[FollowUp]:
        with Session(self.engines[0]) as session:
            return list(session.exec(select(FollowUp)).all())


@pytest.fixture
def replicas(both_engines: Engine) -> Iterator[Replicas]:
    replicas = Replicas(both_engines)
    yield replicas
    replicas.engines[1].dispose()


def at_once(*work: Callable[[], None]) -> None:
    """Run each piece of work in its own thread, all released at the same moment."""
    start, errors = threading.Barrier(len(work), timeout=60), []

    def run(job: Callable[[], None]) -> None:
        start.wait()
        try:
            job()
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def inadequate(audit_id: str) -> InadequateFound:
    return InadequateFound(
        case_id=f"CASE-{audit_id}",
        audit_id=audit_id,
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=GRADED,
        found_by="auditor",
    )


def test_two_replicas_fire_each_timer_exactly_once(replicas):
    for n in range(40):
        replicas.deliver(0, inadequate(f"AUD-R{n}"))
    replicas.clock.at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 3 timers due per follow-up
    services = [TimerService(engine, replicas.ctx, batch_size=7) for engine in replicas.engines]
    fired, last = [0, 0], [0, 0]
    rounds = threading.Barrier(2, timeout=60)

    def replica(index: int) -> Callable[[], None]:
        def fire() -> None:
            while True:
                rounds.wait()  # every round, both replicas claim a batch at the same moment
                last[index] = services[index].fire_due()
                fired[index] += last[index]
                rounds.wait()
                if not any(last):
                    return

        return fire

    at_once(replica(0), replica(1))

    events = replicas.events(FOLLOWUP_REMINDER_DUE, FOLLOWUP_OVERDUE)
    assert sum(fired) == len(events) == 120
    assert all(fired), f"both replicas should have fired timers: {fired}"
    keys = {(e["data"]["followup_id"], e["type"], e["data"].get("reminder")) for e in events}
    assert len(keys) == 120  # no timer fired twice
    with Session(replicas.engines[0]) as session:
        unfired = session.exec(
            select(Timer).where(
                col(Timer.fired_at).is_(None), col(Timer.fire_at) <= replicas.clock.at
            )
        ).all()
    assert unfired == []


def test_one_finding_delivered_to_two_replicas_at_once_opens_one_followup(replicas):
    found = inadequate("AUD-TWICE")
    at_once(lambda: replicas.deliver(0, found), lambda: replicas.deliver(1, found))
    assert len(replicas.followups()) == 1
    assert [e["type"] for e in replicas.events()] == ["qa.followup.scheduled.v1"]


def test_a_moderation_racing_its_finding_on_another_replica_still_cancels_the_followup(replicas):
    moderated = ModerationCompleted(
        case_id="CASE-AUD-RACE",
        moderation_id="MOD-RACE",
        audit_id="AUD-RACE",
        moderator_id="S0002",
        auditor_grade="inadequate",
        moderated_grade="good",
        grade_difference=-2,
        rationale="Regraded",
        moderated_at=GRADED,
    )
    at_once(
        lambda: replicas.deliver(0, inadequate("AUD-RACE")),
        lambda: replicas.deliver(1, moderated),
    )
    [followup] = replicas.followups()
    assert (followup.status, followup.cancelled_reason) == (
        "cancelled",
        "Moderation regraded the audit as good",
    )
    assert sorted(e["type"] for e in replicas.events()) == [
        "qa.followup.cancelled.v1",
        "qa.followup.scheduled.v1",
    ]
