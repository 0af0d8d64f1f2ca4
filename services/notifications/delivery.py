"""Delivering notifications by email and webhook, retried with backoff.

Rows are claimed a batch at a time with a short lease, so that a slow SMTP server never holds a
database lock, and a worker that dies mid-send leaves the rows to be tried again when the lease
ends (a crash between a send and its commit may send again, with the same Message-ID; it never
loses one). A batch is sent concurrently, each channel over its sender's lanes (one SMTP session
kept open, several webhook calls at once), and its outcomes are recorded together, with their
NotificationDelivered / NotificationFailed events, in one transaction.
"""

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from services.notifications import metrics
from services.notifications.context import NotifyContext, announce_delivery, announce_failure
from services.notifications.models import Notification
from services.notifications.routing import Status, webhook_for
from services.notifications.senders import KeepsConnections, Sender, lasting
from shared.db import after_commit, transaction
from shared.events.vocabulary import NotificationChannel
from shared.logging import redact

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)  # longer than an SMTP or webhook timeout
SEND_WITHIN = LEASE - timedelta(seconds=20)
"""No send starts later than this after the claim: one that might outlast the lease could be
claimed and sent again by another replica meanwhile (SMTP times out after 15 s)."""
MAX_BACKOFF = timedelta(hours=1)
BATCH = 50
MAX_CONCURRENT_SENDS = 8


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon a failed delivery is tried again."""

    max_attempts: int
    backoff: timedelta

    def next_attempt(self, attempts: int, lasting: bool, now: datetime) -> datetime | None:
        """When to try again after `attempts` failed tries; None when the failure is final.

        Only a refusal that will not change uses up the attempts: an unreachable server (an
        outage) delays mail without limit, so no mail is lost to it.
        """
        if lasting and attempts >= self.max_attempts:
            return None
        wait: timedelta = min(self.backoff * 2 ** (attempts - 1), MAX_BACKOFF)
        return now + wait


@dataclass(frozen=True)
class Outcome:
    """How one send went: no error when the message left."""

    notification_id: str
    error: str | None = None
    lasting: bool = False


def lanes(claimed: Sequence[Notification], widths: Mapping[str, int]) -> list[list[Notification]]:
    """The claimed notifications dealt out, in claim order, over each channel's `widths` lanes:
    a lane sends one message after another, the lanes all at the same time."""
    by_channel: dict[str, list[Notification]] = {}
    for notification in claimed:
        by_channel.setdefault(notification.channel, []).append(notification)
    dealt: list[list[Notification]] = []
    for channel, items in by_channel.items():
        width = max(1, widths.get(channel, 1))
        dealt.extend(items[lane::width] for lane in range(min(width, len(items))))
    return dealt


def next_pass(due_in: float | None, idle_close_in: Sequence[float | None]) -> bool | float:
    """After a batch that was not full: the seconds until the next retry falls due or an idle
    connection is to close, whichever comes first (0 or less: at once); False when neither."""
    waits = [wait for wait in (due_in, *idle_close_in) if wait is not None]
    return max(0.0, min(waits)) if waits else False


class DeliveryWorker:
    """Claims due notifications, sends each once, and records how it went."""

    def __init__(
        self,
        engine: Engine,
        ctx: NotifyContext,
        senders: Mapping[NotificationChannel, Sender],
        policy: RetryPolicy,
        batch: int = BATCH,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine, self._ctx = engine, ctx
        self._senders, self._policy = senders, policy
        self._batch, self._monotonic = batch, monotonic
        self._pool: ThreadPoolExecutor | None = None  # made on the first concurrent batch

    def step(self) -> bool | float:
        """One pass of the delivery worker: True while a full batch says more may be due at
        once, else the seconds until the next retry (see `next_pass`), or False: nothing
        waits, and the worker sleeps until a new delivery wakes it."""
        if self.deliver_due(self._batch) >= self._batch:
            return True
        return next_pass(self._next_due_in(), self._close_idle())

    def deliver_due(self, batch: int = BATCH) -> int:
        """Try every claimed notification once; returns how many were tried."""
        claimed = self._claim(batch)
        if not claimed:
            return 0
        deadline = self._monotonic() + SEND_WITHIN.total_seconds()
        outcomes = self._send_all(claimed, deadline)
        tried = {outcome.notification_id for outcome in outcomes}
        self._record(outcomes, [n.id for n in claimed if n.id not in tried])
        return len(outcomes)

    def close(self) -> None:
        """Stop the send threads and close the senders' open connections (at shutdown)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        for sender in self._senders.values():
            if isinstance(sender, KeepsConnections):
                sender.close()

    def _send_all(self, claimed: Sequence[Notification], deadline: float) -> list[Outcome]:
        widths = {str(channel): _width(sender) for channel, sender in self._senders.items()}
        work = lanes(claimed, widths)
        if len(work) == 1:
            return self._send_lane(work[0], deadline)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(MAX_CONCURRENT_SENDS, thread_name_prefix="delivery")
        sent = self._pool.map(lambda lane: self._send_lane(lane, deadline), work)
        return [outcome for lane in sent for outcome in lane]

    def _send_lane(self, lane: Sequence[Notification], deadline: float) -> list[Outcome]:
        """Send one after another; one failing does not stop the rest. Those not started by
        `deadline` are left untried."""
        outcomes: list[Outcome] = []
        for notification in lane:
            if self._monotonic() >= deadline:
                break
            outcomes.append(self._send_one(notification))
        return outcomes

    def _send_one(self, notification: Notification) -> Outcome:
        try:
            self._senders[NotificationChannel(notification.channel)].send(
                notification, self._address(notification)
            )
        except Exception as exc:  # noqa: BLE001 (every failure is retried, then recorded)
            error = redact(f"{type(exc).__name__}: {exc}")[:300]
            return Outcome(notification.id, error, lasting(exc))
        return Outcome(notification.id)

    def _address(self, notification: Notification) -> str:
        if notification.channel == NotificationChannel.EMAIL:
            return str(self._ctx.organisation.staff_by_id[notification.recipient_id].email)
        url = webhook_for(notification.recipient_id, self._ctx.organisation, self._ctx.webhook_urls)
        if url is None:
            raise LookupError("no webhook configured any more")
        return url

    def _claim(self, batch: int) -> list[Notification]:
        with transaction(self._engine) as session:
            now = self._ctx.clock.now()
            query = (
                select(Notification)
                .where(
                    Notification.status == Status.PENDING,
                    col(Notification.next_attempt_at) <= now,
                )
                .order_by(col(Notification.next_attempt_at))
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
            claimed = list(session.exec(query).all())
            for notification in claimed:
                notification.next_attempt_at = now + LEASE
                session.add(notification)
            session.flush()
            session.expunge_all()
            return claimed

    def _record(self, outcomes: Sequence[Outcome], untried: Sequence[str]) -> None:
        """Every outcome of a batch in one transaction; the untried are due again at once."""
        counts: list[Callable[[], None]] = []
        failed: list[tuple[str, str]] = []
        with transaction(self._engine) as session:
            now = self._ctx.clock.now()
            ids = [outcome.notification_id for outcome in outcomes] + list(untried)
            query = select(Notification).where(
                col(Notification.id).in_(ids), Notification.status == Status.PENDING
            )
            pending = {notification.id: notification for notification in session.exec(query)}
            for outcome in outcomes:
                notification = pending.get(outcome.notification_id)
                if notification is None:
                    continue
                if outcome.error is None:
                    counts.append(self._delivered(session, notification, now))
                else:
                    counts.append(self._failed(session, notification, outcome, now))
                    failed.append((notification.id, notification.channel))
            for notification_id in untried:
                if (notification := pending.get(notification_id)) is not None:
                    notification.next_attempt_at = now
                    session.add(notification)

            def count_all() -> None:
                for count in counts:
                    count()

            after_commit(session, count_all)
        for notification_id, channel in failed:
            log.warning(
                "delivery failed", extra={"notification_id": notification_id, "channel": channel}
            )

    def _delivered(
        self, session: Session, notification: Notification, now: datetime
    ) -> Callable[[], None]:
        notification.status, notification.delivered_at = Status.DELIVERED, now
        notification.attempts += 1
        session.add(notification)
        announce_delivery(session, notification, now)
        latency = (now - notification.event_time).total_seconds()
        channel, kind = notification.channel, notification.kind

        def count() -> None:
            metrics.NOTIFICATIONS.labels(channel, kind, "delivered").inc()
            metrics.DELIVERY_LATENCY.labels(channel).observe(max(0.0, latency))

        return count

    def _failed(
        self, session: Session, notification: Notification, outcome: Outcome, now: datetime
    ) -> Callable[[], None]:
        """Back off and retry, or give up with NotificationFailed (see RetryPolicy)."""
        error = outcome.error or ""
        notification.attempts += 1
        notification.last_error = error
        channel, kind = notification.channel, notification.kind
        retry_at = self._policy.next_attempt(notification.attempts, outcome.lasting, now)
        session.add(notification)
        if retry_at is None:
            notification.status = Status.FAILED
            announce_failure(session, notification, error, now)
            return metrics.NOTIFICATIONS.labels(channel, kind, "failed").inc
        notification.next_attempt_at = retry_at
        return metrics.DELIVERY_RETRIES.labels(channel).inc

    def _next_due_in(self) -> float | None:
        """Seconds until the earliest pending notification is due (a retry, or a lease that
        ends); None when none is pending. One look-up in the (status, next_attempt_at) index."""
        query = select(func.min(Notification.next_attempt_at)).where(
            Notification.status == Status.PENDING
        )
        with Session(self._engine) as session:
            due = session.exec(query).one()
        return None if due is None else (due - self._ctx.clock.now()).total_seconds()

    def _close_idle(self) -> list[float | None]:
        return [
            sender.close_idle()
            for sender in self._senders.values()
            if isinstance(sender, KeepsConnections)
        ]


def _width(sender: Sender) -> int:
    """How many messages a sender can send at once: one unless it says more."""
    return sender.concurrency if isinstance(sender, KeepsConnections) else 1
