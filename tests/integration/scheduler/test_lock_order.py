"""A Head of Service recording the conversation of an overdue follow-up at the moment its
escalation timer fires, on PostgreSQL, many times: both happen, nobody sees a deadlock.

The timer pass once locked due timer rows and then the audit's advisory lock, while recording
took the advisory lock and then updated the timer rows: PostgreSQL broke the cycle by failing
one of them, and the person got a 500. Now everything takes the audit's lock first
(services/scheduler/timers.py), and a transaction that loses a race anyway is run again.
"""

import threading
import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from services.scheduler.app import create_app
from services.scheduler.decisions import Rules
from services.scheduler.handlers import event_handlers
from services.scheduler.models import FollowUp
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store import SchedulerContext
from services.scheduler.timers import TimerService
from shared.calendar import WorkingDayCalendar
from shared.clock import FixedClock
from shared.db import create_db_engine
from shared.events import InadequateFound
from shared.events.topics import FOLLOWUP_OVERDUE
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.outbox import OutboxMessage
from tests.factories import audit_graded
from tests.support import from_producer
from tests.tokens import bearer

HEAD = "S0003"  # Head of Service, early help
GRADED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ESCALATION_DUE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # conversation due 30 November
ROUNDS = 80  # the old lock order deadlocked in about one run of three at 40


def test_recording_a_conversation_as_its_escalation_fires_never_fails(postgres_url):
    upgrade("scheduler", postgres_url)
    clock = FixedClock(GRADED)
    rules = Rules(load_organisation(), WorkingDayCalendar(), overdue_every=2, starts_at_hour=8)
    engine = create_db_engine(postgres_url)
    handlers = event_handlers(SchedulerContext(rules, clock))
    for n in range(ROUNDS):
        audit = f"AUD-LOCK-{n}"
        for data in (
            audit_graded(f"CASE-L{n}", "inadequate", audit, auditor_id="S0004", graded_at=GRADED),
            InadequateFound(
                case_id=f"CASE-L{n}",
                audit_id=audit,
                service_area="early_help",
                team_id="EH-NORTH",
                graded_at=GRADED,
                found_by="auditor",
            ),
        ):
            process_once(engine, "scheduler", from_producer(data), handlers[type(data)])
    clock.at = ESCALATION_DUE
    settings = SchedulerSettings(kafka_bootstrap_servers="127.0.0.1:9", database_url=postgres_url)
    app = create_app(settings, clock)  # no lifespan: nothing connects to the broker
    timers = TimerService(create_db_engine(postgres_url), SchedulerContext(rules, clock), 1)
    with Session(engine) as session:
        ids = [row.id for row in session.exec(select(FollowUp).order_by(col(FollowUp.audit_id)))]

    client = TestClient(app, headers=bearer(HEAD))  # not entered: no lifespan, no broker
    # The pass starts a little later each round, so some rounds catch the person's
    # transaction half-way: the moment that deadlocked.
    answers = [race(client, timers, f, delay=(n % 10) / 500) for n, f in enumerate(ids)]

    assert answers == [[200]] * ROUNDS
    with Session(engine) as session:
        followups = session.exec(select(FollowUp)).all()
        escalations = session.exec(
            select(OutboxMessage).where(OutboxMessage.topic == FOLLOWUP_OVERDUE)
        ).all()
    assert {(f.step, f.status) for f in followups} == {("reaudit", "open")}
    assert len(escalations) <= ROUNDS  # an escalation fires at most once, before or not at all
    engine.dispose()


def race(
    client: TestClient, timers: TimerService, followup_id: str, delay: float
) -> list[int | str]:
    """The conversation posted while the timer pass runs; the answer, and any failure."""
    start, answers = threading.Barrier(2, timeout=30), list[int | str]()

    def record() -> None:
        start.wait()
        answer = client.post(
            f"/followups/{followup_id}/reflective-conversation",
            json={
                "held_on": "2026-12-01",
                "recorded_by": HEAD,
                "attendees": [HEAD],
                "agreed_actions": ["See the child alone within 10 days"],
            },
        )
        answers.append(answer.status_code)

    def fire() -> None:
        start.wait()
        time.sleep(delay)
        try:
            # One timer per pass, so passes keep racing the person; True: a full batch was due
            # (otherwise the step answers the seconds until the next timer).
            while timers.step() is True:
                pass
        except Exception as exc:  # the pass's failure is the test's: reported below
            answers.append(f"timer pass failed: {type(exc).__name__}")

    threads = [threading.Thread(target=job) for job in (record, fire)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
