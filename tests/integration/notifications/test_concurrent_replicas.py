"""Replicas working at once, on SQLite and on PostgreSQL: the same test bodies on both.

On PostgreSQL these paths take a per-audit advisory lock and claim rows with SKIP LOCKED; on
SQLite every write transaction holds the single write lock. Either way nothing is lost or sent
twice.
"""

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from services.notifications.app import event_handlers
from services.notifications.context import NotifyContext
from services.notifications.delivery import DeliveryWorker, RetryPolicy
from services.notifications.digest import send_digests
from services.notifications.models import Notification, ParkedEvent, Preference
from shared.clock import FixedClock
from shared.db import transaction
from shared.events import EventData, FollowUpScheduled, InadequateFound, new_event
from shared.events.vocabulary import NotificationChannel
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from tests.factories import audit_graded

ORG = load_organisation()
HEAD = ORG.leads_of("early_help").head_of_service
CLOCK = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self._lock = threading.Lock()

    def send(self, notification: Notification, _address: str) -> None:
        with self._lock:
            self.sent.append(notification.id)


@pytest.fixture
def engine(both_engines: Engine) -> Engine:
    upgrade("notifications", both_engines.url.render_as_string(hide_password=False))
    return both_engines


@pytest.fixture
def ctx() -> NotifyContext:
    CLOCK.at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    return NotifyContext(ORG, CLOCK, "https://qa.example", {})


def at_once(*calls: Callable[[], object]) -> list[object]:
    """Run each call in its own thread, all released together; their results in order."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        start.wait()
        try:
            results[index] = call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def handle(engine: Engine, ctx: NotifyContext, data: EventData) -> Callable[[], bool]:
    event = new_event(data, source="/tests")
    handler = event_handlers(ctx)[type(data)]
    return lambda: process_once(engine, "notifications", event, handler)


def graded(audit_id: str) -> EventData:
    return audit_graded(
        "CASE-1",
        "inadequate",
        audit_id,
        team_id="EH-NORTH",
        service_area="early_help",
        practitioner_id="S0006",
        team_manager_id="S0005",
        auditor_id="S0003",
    )


def found(audit_id: str) -> EventData:
    return InadequateFound(
        case_id="CASE-1",
        audit_id=audit_id,
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=CLOCK.now(),
        found_by="auditor",
    )


def rows(engine: Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification)).all())


def test_an_event_racing_its_audit_is_routed_whichever_commits_first(engine, ctx):
    audits = [f"AUD-{n}" for n in range(8)]
    for audit_id in audits:
        at_once(handle(engine, ctx, found(audit_id)), handle(engine, ctx, graded(audit_id)))
    inbox = [n for n in rows(engine) if n.channel == NotificationChannel.INBOX]
    assert sorted(n.recipient_id for n in inbox) == sorted(["S0005", "S0006"] * len(audits))
    with Session(engine) as session:
        assert session.exec(select(ParkedEvent)).all() == []


def scheduled(number: int) -> EventData:
    return FollowUpScheduled(
        case_id=f"CASE-{number}",
        followup_id=f"FU-{number}",
        audit_id=f"AUD-{number}",
        action="reflective_conversation",
        owner_id=HEAD,
        due_on=date(2026, 11, 30),
        service_area="early_help",
        scheduled_at=CLOCK.now(),
    )


def test_two_delivery_workers_never_send_the_same_notification(engine, ctx):
    for number in range(12):
        handle(engine, ctx, scheduled(number))()
    mail = RecordingSender()
    senders = {NotificationChannel.EMAIL: mail, NotificationChannel.WEBHOOK: RecordingSender()}
    policy = RetryPolicy(3, timedelta(seconds=60))
    workers = [DeliveryWorker(engine, ctx, senders, policy) for _ in range(2)]

    def drain(worker: DeliveryWorker) -> int:
        tried = 0
        while claimed := worker.deliver_due(batch=2):
            tried += claimed
        return tried

    tried = at_once(*(lambda w=worker: drain(w) for worker in workers))
    assert sum(tried) == 12
    assert sorted(mail.sent) == sorted(n.id for n in rows(engine) if n.channel == "email")
    assert {n.status for n in rows(engine)} == {"delivered"}


def test_two_replicas_sending_digests_make_one_digest_per_person(engine, ctx):
    with transaction(engine) as session:
        session.add(Preference(staff_id="S0005", information="daily_digest"))
    handle(engine, ctx, graded("AUD-1"))()
    handle(engine, ctx, found("AUD-1"))()
    CLOCK.at = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    made = at_once(*(lambda: send_digests(engine, ctx, time(7, 30)) for _ in range(2)))
    assert sorted(made) == [0, 1]
    digests = [n for n in rows(engine) if n.event_type == "digest"]
    assert [(d.recipient_id, d.status) for d in digests] == [("S0005", "pending")]
    assert [n.status for n in rows(engine) if n.digest_id] == ["digested"]
