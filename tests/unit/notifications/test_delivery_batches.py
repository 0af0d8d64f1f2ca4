"""A batch of deliveries is sent concurrently, recorded together, and the worker is told how
long to sleep: until the next retry, never a poll (SQLite, a controlled clock, fake senders)."""

import threading
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import Session, select

from services.notifications.context import NotifyContext
from services.notifications.delivery import SEND_WITHIN, DeliveryWorker, RetryPolicy, lanes
from services.notifications.digest import digest_due, next_gathering
from services.notifications.models import Notification
from shared.calendar import UK
from shared.clock import FixedClock
from shared.db import transaction
from shared.events.vocabulary import NotificationChannel
from shared.migrations import upgrade
from shared.organisation import load_organisation

ORG = load_organisation()
HEAD = ORG.leads_of("early_help").head_of_service
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Hooks:
    """A webhook sender that sends `concurrency` at once: each call waits for the others,
    so sending them one after another would time out."""

    def __init__(self, concurrency: int, failing: set[str]) -> None:
        self.concurrency, self.failing = concurrency, failing
        self._together = threading.Barrier(concurrency, timeout=5)
        self.sent: list[str] = []

    def send(self, notification: Notification, _address: str) -> None:
        self._together.wait()
        if notification.case_id in self.failing:
            raise ConnectionResetError("webhook host went away")
        self.sent.append(notification.case_id)

    def close_idle(self) -> float | None:
        return None

    def close(self) -> None:
        pass


class Mail:
    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing, self.sent = failing or set(), []

    def send(self, notification: Notification, _address: str) -> None:
        if notification.case_id in self.failing:
            raise ConnectionRefusedError("SMTP server unreachable")
        self.sent.append(notification.case_id)


@pytest.fixture
def engine(sqlite_engine):
    upgrade("notifications", str(sqlite_engine.url))
    return sqlite_engine


def queue(engine, channel: str, *cases: str) -> None:
    with transaction(engine) as session:
        for case in cases:
            session.add(
                Notification(
                    id=f"N-{uuid.uuid4().hex[:16]}",
                    source_event_id=f"/tests#{uuid.uuid4().hex}",
                    event_type="qa.followup.scheduled.v1",
                    kind="action",
                    recipient_id="S0005" if channel == "webhook" else HEAD,
                    channel=channel,
                    case_id=case,
                    subject=f"[Action] {case}",
                    body_text="text",
                    body_html="<p>html</p>",
                    link="https://qa.example/followups/FU-1",
                    status="pending",
                    event_time=NOW,
                    created_at=NOW,
                    next_attempt_at=NOW,
                )
            )


def worker(engine, mail, hooks=None, clock=None, batch: int = 50, monotonic=None):
    ctx = NotifyContext(ORG, clock or FixedClock(NOW), "https://qa.example", {"EH-NORTH": "h"})
    senders = {NotificationChannel.EMAIL: mail, NotificationChannel.WEBHOOK: hooks or Mail()}
    policy = RetryPolicy(3, backoff=timedelta(seconds=60))
    extra = {"monotonic": monotonic} if monotonic else {}
    return DeliveryWorker(engine, ctx, senders, policy, batch=batch, **extra)


def by_case(engine) -> dict[str, Notification]:
    with Session(engine) as session:
        return {n.case_id: n for n in session.exec(select(Notification))}


def test_a_failed_send_in_a_concurrent_batch_does_not_hold_back_the_others(engine):
    cases = [f"CASE-{n}" for n in range(4)]
    queue(engine, "webhook", *cases)
    hooks = Hooks(concurrency=4, failing={"CASE-2"})
    assert worker(engine, Mail(), hooks).deliver_due() == 4
    assert sorted(hooks.sent) == ["CASE-0", "CASE-1", "CASE-3"]
    rows = by_case(engine)
    assert {case: rows[case].status for case in cases} == {
        "CASE-0": "delivered",
        "CASE-1": "delivered",
        "CASE-2": "pending",
        "CASE-3": "delivered",
    }
    assert (rows["CASE-2"].attempts, rows["CASE-2"].next_attempt_at) == (
        1,
        NOW + timedelta(seconds=60),
    )


def test_email_and_webhooks_go_out_side_by_side_in_one_batch(engine):
    queue(engine, "email", "CASE-M1", "CASE-M2", "CASE-M3")
    queue(engine, "webhook", "CASE-W1", "CASE-W2")
    mail, hooks = Mail(failing={"CASE-M2"}), Hooks(concurrency=2, failing=set())
    assert worker(engine, mail, hooks).deliver_due() == 5
    assert (mail.sent, sorted(hooks.sent)) == (["CASE-M1", "CASE-M3"], ["CASE-W1", "CASE-W2"])


def test_step_returns_the_seconds_until_the_next_retry_and_false_when_nothing_waits(engine):
    clock = FixedClock(NOW)
    queue(engine, "email", "CASE-1")
    mail = Mail(failing={"CASE-1"})
    delivery = worker(engine, mail, clock=clock)
    assert delivery.step() == 60.0  # failed once: tried again after the 60 s backoff
    clock.advance(timedelta(seconds=45))
    assert delivery.step() == 15.0  # not due yet: nothing tried, 15 s to go
    clock.advance(timedelta(seconds=15))
    mail.failing = set()
    assert delivery.step() is False  # sent: nothing waits, sleep until woken
    assert mail.sent == ["CASE-1"]


def test_step_asks_to_run_again_at_once_after_a_full_batch(engine):
    queue(engine, "email", *(f"CASE-{n}" for n in range(3)))
    delivery = worker(engine, Mail(), batch=2)
    assert delivery.step() is True
    assert delivery.step() is False
    assert {n.status for n in by_case(engine).values()} == {"delivered"}


def test_sends_not_started_before_the_lease_runs_short_are_left_due_at_once(engine):
    queue(engine, "email", "CASE-1", "CASE-2", "CASE-3")
    ticks = iter([0.0, 1.0, SEND_WITHIN.total_seconds() + 1, 99.0, 99.0])
    mail = Mail()
    delivery = worker(engine, mail, monotonic=lambda: next(ticks))
    assert delivery.deliver_due() == 1  # the deadline passed before the second send
    rows = by_case(engine)
    assert mail.sent == ["CASE-1"]
    assert [
        (rows[c].status, rows[c].attempts, rows[c].next_attempt_at) for c in ("CASE-2", "CASE-3")
    ] == [
        ("pending", 0, NOW),
        ("pending", 0, NOW),
    ]


def test_lanes_deal_each_channel_over_its_width_in_claim_order():
    def made(channel: str, case: str) -> Notification:
        return Notification.model_construct(channel=channel, case_id=case)

    claimed = [
        made("email", "M1"),
        made("webhook", "W1"),
        made("email", "M2"),
        made("webhook", "W2"),
    ]
    dealt = lanes(claimed, {"email": 1, "webhook": 8})
    assert [[n.case_id for n in lane] for lane in dealt] == [["M1", "M2"], ["W1"], ["W2"]]


def test_digests_are_gathered_at_their_time_and_a_minute_later_then_tomorrow():
    send_at = time(7, 30)
    before = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert not digest_due(None, before, send_at)
    assert next_gathering(before, send_at) == datetime(2026, 11, 24, 7, 30, tzinfo=UK)
    at = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    assert digest_due(None, at, send_at)
    assert next_gathering(at, send_at) == datetime(2026, 11, 24, 7, 31, tzinfo=UK)
    assert not digest_due(at, at + timedelta(seconds=30), send_at)
    assert digest_due(at, at + timedelta(minutes=1), send_at)
    later = at + timedelta(minutes=1)
    assert not digest_due(later, datetime(2026, 11, 24, 18, 0, tzinfo=UTC), send_at)
    assert next_gathering(later, send_at) == datetime(2026, 11, 25, 7, 30, tzinfo=UK)


def test_the_next_digest_time_is_in_uk_time_across_the_clock_change():
    # The clocks go back on Sunday 25 October 2026: 07:30 UK is 06:30 UTC before, 07:30 after.
    saturday_evening = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert next_gathering(saturday_evening, time(7, 30)) == datetime(
        2026, 10, 25, 7, 30, tzinfo=UTC
    )
