"""Delivering notifications by email and webhook, retried with backoff.

Rows are claimed with a short lease so that a slow SMTP server never holds a database lock,
and a worker that dies mid-send leaves the row to be tried again when the lease ends. Success
and final failure are recorded with their NotificationDelivered / NotificationFailed event in
one transaction.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import col, select

from services.notifications import metrics
from services.notifications.context import NotifyContext, announce_delivery, announce_failure
from services.notifications.models import Notification
from services.notifications.routing import Status, webhook_for
from services.notifications.senders import Sender, lasting
from shared.db import after_commit, transaction
from shared.events.vocabulary import NotificationChannel
from shared.logging import redact

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)  # longer than an SMTP or webhook timeout
MAX_BACKOFF = timedelta(hours=1)


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


class DeliveryWorker:
    """Claims due notifications, sends each once, and records how it went."""

    def __init__(
        self,
        engine: Engine,
        ctx: NotifyContext,
        senders: Mapping[NotificationChannel, Sender],
        policy: RetryPolicy,
    ) -> None:
        self._engine, self._ctx = engine, ctx
        self._senders, self._policy = senders, policy

    def step(self) -> bool:
        """One pass of the delivery worker; True while there may be more to send at once."""
        return self.deliver_due() > 0

    def deliver_due(self, batch: int = 20) -> int:
        """Try every claimed notification once; returns how many were tried."""
        claimed = self._claim(batch)
        for notification in claimed:
            try:
                self._senders[NotificationChannel(notification.channel)].send(
                    notification, self._address(notification)
                )
            except Exception as exc:  # noqa: BLE001 (every failure is retried, then recorded)
                self._record_failure(
                    notification.id, redact(f"{type(exc).__name__}: {exc}")[:300], lasting(exc)
                )
            else:
                self._record_success(notification.id)
        return len(claimed)

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

    def _record_success(self, notification_id: str) -> None:
        with transaction(self._engine) as session:
            notification = session.get(Notification, notification_id)
            if notification is None or notification.status != Status.PENDING:
                return
            now = self._ctx.clock.now()
            notification.status, notification.delivered_at = Status.DELIVERED, now
            notification.attempts += 1
            session.add(notification)
            announce_delivery(session, notification, now)
            latency = (now - notification.event_time).total_seconds()
            channel, kind = notification.channel, notification.kind

            def count() -> None:
                metrics.NOTIFICATIONS.labels(channel, kind, "delivered").inc()
                metrics.DELIVERY_LATENCY.labels(channel).observe(max(0.0, latency))

            after_commit(session, count)

    def _record_failure(self, notification_id: str, error: str, lasting: bool) -> None:
        """Back off and retry, or give up with NotificationFailed (see RetryPolicy)."""
        with transaction(self._engine) as session:
            notification = session.get(Notification, notification_id)
            if notification is None or notification.status != Status.PENDING:
                return
            now = self._ctx.clock.now()
            notification.attempts += 1
            notification.last_error = error
            channel, kind = notification.channel, notification.kind
            retry_at = self._policy.next_attempt(notification.attempts, lasting, now)
            if retry_at is None:
                notification.status = Status.FAILED
                announce_failure(session, notification, error, now)
                after_commit(session, metrics.NOTIFICATIONS.labels(channel, kind, "failed").inc)
            else:
                notification.next_attempt_at = retry_at
                after_commit(session, metrics.DELIVERY_RETRIES.labels(channel).inc)
            session.add(notification)
        log.warning(
            "delivery failed", extra={"notification_id": notification_id, "channel": channel}
        )
