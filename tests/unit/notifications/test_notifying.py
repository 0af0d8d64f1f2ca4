"""Notifications on SQLite with a controlled clock and recording senders (no SMTP, no HTTP)."""

import json
import smtplib
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from services.notifications.app import event_handlers
from services.notifications.context import NotifyContext
from services.notifications.delivery import DeliveryWorker, RetryPolicy
from services.notifications.digest import send_digests
from services.notifications.models import Notification, Preference
from shared.clock import FixedClock
from shared.db import transaction
from shared.events import FollowUpScheduled, InadequateFound, new_event
from shared.events.vocabulary import NotificationChannel
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.outbox import OutboxMessage
from tests.factories import audit_graded

ORG = load_organisation()
HEAD = ORG.leads_of("early_help").head_of_service


class RecordingSender:
    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures, self.sent = failures, []
        self.error = error or ConnectionRefusedError("SMTP server unreachable")

    def send(self, notification, address) -> None:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.sent.append((notification.subject, address))


class Setup:
    def __init__(self, engine, failures: int = 0, max_attempts: int = 3, error=None) -> None:
        self.engine = engine
        self.clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
        self.ctx = NotifyContext(ORG, self.clock, "https://qa.example", {"EH-NORTH": "http://hook"})
        self.mail, self.hooks = RecordingSender(failures, error), RecordingSender()
        self.worker = DeliveryWorker(
            engine,
            self.ctx,
            {NotificationChannel.EMAIL: self.mail, NotificationChannel.WEBHOOK: self.hooks},
            RetryPolicy(max_attempts, backoff=timedelta(seconds=60)),
        )
        self.handlers = event_handlers(self.ctx)

    def deliver(self, data, event=None):
        event = event or new_event(data, source="/tests")
        process_once(self.engine, "notifications", event, self.handlers[type(data)])
        return event

    def send_digests(self) -> int:
        return send_digests(self.engine, self.ctx, time(7, 30))

    def rows(self, **where) -> list[Notification]:
        with Session(self.engine) as session:
            rows = session.exec(select(Notification)).all()
        return [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]

    def events(self, kind: str) -> list[dict]:
        with Session(self.engine) as session:
            rows = session.exec(select(OutboxMessage)).all()
        return [json.loads(r.value) for r in rows if json.loads(r.value)["type"] == kind]


def graded_in_early_help(audit_id: str):
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


def found_inadequate(audit_id: str, setup: "Setup") -> InadequateFound:
    return InadequateFound(
        case_id="CASE-1",
        audit_id=audit_id,
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=setup.clock.now(),
        found_by="auditor",
    )


@pytest.fixture
def setup(sqlite_engine) -> Setup:
    upgrade("notifications", str(sqlite_engine.url))
    return Setup(sqlite_engine)


def scheduled(owner: str = HEAD) -> FollowUpScheduled:
    return FollowUpScheduled(
        case_id="CASE-1",
        followup_id="FU-1",
        audit_id="AUD-1",
        action="reflective_conversation",
        owner_id=owner,
        due_on=date(2026, 11, 30),
        service_area="early_help",
        scheduled_at=datetime(2026, 11, 23, 10, tzinfo=UTC),
    )


def test_an_action_goes_to_the_inbox_at_once_and_is_emailed(setup):
    setup.deliver(scheduled())
    [inbox] = setup.rows(channel="inbox")
    assert (inbox.recipient_id, inbox.status, inbox.kind) == (HEAD, "delivered", "action")
    assert setup.worker.deliver_due() == 1
    assert setup.mail.sent == [(inbox.subject, str(ORG.staff_by_id[HEAD].email))]
    assert [e["data"]["channel"] for e in setup.events("qa.notification.delivered.v1")] == [
        "inbox",
        "email",
    ]


def test_a_redelivered_event_is_still_one_notification_per_channel(setup):
    event = setup.deliver(scheduled())
    setup.deliver(scheduled(), event)
    # A fresh copy of the same event (same id) reaching another code path changes nothing.
    with transaction(setup.engine) as session:
        setup.handlers[FollowUpScheduled](session, event)
    assert len(setup.rows(channel="inbox")) == 1
    assert len(setup.rows(channel="email")) == 1


def test_team_webhooks_get_the_notification_too(setup):
    setup.deliver(graded_in_early_help("AUD-1"))
    setup.deliver(found_inadequate("AUD-1", setup))
    assert {r.recipient_id for r in setup.rows(channel="webhook")} == {"S0005", "S0006"}
    setup.worker.deliver_due()
    assert {address for _, address in setup.hooks.sent} == {"http://hook"}


def test_an_event_before_its_audit_waits_for_it_and_is_then_routed(setup):
    setup.deliver(found_inadequate("AUD-9", setup))
    assert setup.rows() == []
    setup.deliver(graded_in_early_help("AUD-9"))
    assert {r.recipient_id for r in setup.rows(channel="inbox")} == {"S0005", "S0006"}


def test_a_lasting_refusal_backs_off_then_fails_with_an_event(sqlite_engine):
    upgrade("notifications", str(sqlite_engine.url))
    refused = smtplib.SMTPResponseException(550, b"mailbox unavailable for x@example.org")
    setup = Setup(sqlite_engine, failures=5, max_attempts=3, error=refused)
    setup.deliver(scheduled())
    assert setup.worker.deliver_due() == 1
    [email] = setup.rows(channel="email")
    assert (email.attempts, email.status) == (1, "pending")
    assert setup.worker.deliver_due() == 0  # not before the backoff
    setup.clock.at = datetime(2026, 11, 23, 10, 1, 0, tzinfo=UTC)
    assert setup.worker.deliver_due() == 1  # 60 s later
    setup.clock.at = datetime(2026, 11, 23, 10, 3, 0, tzinfo=UTC)
    assert setup.worker.deliver_due() == 1  # 120 s after that: the last attempt
    [email] = setup.rows(channel="email")
    assert (email.attempts, email.status) == (3, "failed")
    [failed] = setup.events("qa.notification.failed.v1")
    assert failed["data"]["reason"] == (
        "SMTPResponseException: (550, b'mailbox unavailable for [redacted-email]')"
    )


def test_an_unreachable_server_never_uses_up_the_attempts(sqlite_engine):
    upgrade("notifications", str(sqlite_engine.url))
    setup = Setup(sqlite_engine, failures=6, max_attempts=3)
    setup.deliver(scheduled())
    for hour in range(7):
        setup.clock.at = datetime(2026, 11, 23, 10 + hour, 0, tzinfo=UTC)
        setup.worker.deliver_due()
    [email] = setup.rows(channel="email")
    assert (email.status, email.attempts) == ("delivered", 7)
    assert setup.events("qa.notification.failed.v1") == []


def test_a_server_down_for_a_while_delays_mail_but_does_not_lose_it(sqlite_engine):
    upgrade("notifications", str(sqlite_engine.url))
    setup = Setup(sqlite_engine, failures=2, max_attempts=10)
    setup.deliver(scheduled())
    for minute in (0, 2, 5):
        setup.clock.at = datetime(2026, 11, 23, 10, minute, tzinfo=UTC)
        setup.worker.deliver_due()
    assert len(setup.mail.sent) == 1
    assert setup.rows(channel="email")[0].status == "delivered"


def test_information_for_a_digest_reader_waits_for_the_daily_digest(setup):
    with transaction(setup.engine) as session:
        session.add(Preference(staff_id="S0005", information="daily_digest"))
    setup.deliver(graded_in_early_help("AUD-1"))
    setup.deliver(found_inadequate("AUD-1", setup))
    [held] = setup.rows(channel="email", recipient_id="S0005")
    assert held.status == "held"
    assert setup.send_digests() == 0  # 10:00 today: the cut-off for today's digest passed
    setup.clock.at = datetime(2026, 11, 24, 7, 29, tzinfo=UTC)
    assert setup.send_digests() == 0
    setup.clock.at = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    assert setup.send_digests() == 1
    assert setup.send_digests() == 0  # once
    setup.worker.deliver_due()
    digests = [s for s, to in setup.mail.sent if s.startswith("[Digest]")]
    assert digests == ["[Digest] 1 update for Tuesday 24 November 2026"]
