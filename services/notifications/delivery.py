"""Delivering notifications: email over SMTP and webhooks, retried with backoff, and digests.

Rows are claimed with a short lease so that a slow SMTP server never holds a database lock,
and a worker that dies mid-send leaves the row to be tried again when the lease ends. Success
and final failure are recorded with their NotificationDelivered / NotificationFailed event in
one transaction.
"""

import asyncio
import contextlib
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Protocol

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from services.notifications import metrics
from services.notifications.handlers import NotifyContext, announce_delivery, webhook_for
from services.notifications.messages import render_digest
from services.notifications.models import Notification
from shared.calendar import UK
from shared.db import after_commit, as_utc, is_postgresql, transaction
from shared.events import NotificationFailed, new_event
from shared.events.vocabulary import NotificationChannel
from shared.logging import redact
from shared.outbox import add_event

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)  # longer than an SMTP or webhook timeout
MAX_BACKOFF = timedelta(hours=1)


class Sender(Protocol):
    def send(self, notification: Notification, address: str) -> None: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    mail_from: str


class SmtpMailer:
    """Sends a notification as a text + HTML email with a real SMTP client."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    def send(self, notification: Notification, address: str) -> None:
        message = EmailMessage()
        message["Subject"] = notification.subject
        message["From"] = self._settings.mail_from
        message["To"] = address
        # The same Message-ID on every attempt: SMTP cannot be part of our transaction, so a
        # crash between the server's "250 OK" and our commit sends the message again, and
        # mailboxes recognise the repeat as the same message.
        message["Message-ID"] = f"<{notification.id}@qa-platform>"
        message["X-QA-Notification"] = notification.id
        message.set_content(notification.body_text)
        message.add_alternative(notification.body_html, subtype="html")
        with smtplib.SMTP(self._settings.host, self._settings.port, timeout=15) as smtp:
            if self._settings.starttls:
                smtp.starttls(context=ssl.create_default_context())  # verifies the server
            if self._settings.username:
                smtp.login(self._settings.username, self._settings.password or "")
            smtp.send_message(message)


class WebhookPoster:
    """POSTs a notification as JSON; `text` makes it readable in Teams/Slack-style channels."""

    def send(self, notification: Notification, address: str) -> None:
        payload = {
            "text": notification.subject,
            "notification_id": notification.id,
            "case_id": notification.case_id,
            "kind": notification.kind,
            "event_type": notification.event_type,
            "link": notification.link,
            "recipient_id": notification.recipient_id,
        }
        httpx.post(address, json=payload, timeout=10).raise_for_status()


def _lasting(error: Exception) -> bool:
    """A refusal that retrying will not change: a 5xx SMTP reply or a 4xx HTTP answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    if isinstance(error, httpx.HTTPStatusError):
        return 400 <= error.response.status_code < 500
    return isinstance(error, LookupError | ValueError)


class DeliveryWorker:
    def __init__(
        self,
        engine: Engine,
        ctx: NotifyContext,
        mailer: Sender,
        poster: Sender,
        *,
        max_attempts: int,
        backoff_seconds: float,
        digest_at: time,
    ) -> None:
        self._engine, self._ctx = engine, ctx
        self._senders = {NotificationChannel.EMAIL: mailer, NotificationChannel.WEBHOOK: poster}
        self._max_attempts, self._backoff = max_attempts, timedelta(seconds=backoff_seconds)
        self._digest_at = digest_at

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
                    notification.id, redact(f"{type(exc).__name__}: {exc}")[:300], _lasting(exc)
                )
            else:
                self._record_success(notification.id)
        return len(claimed)

    def _address(self, notification: Notification) -> str:
        if notification.channel == NotificationChannel.EMAIL:
            return str(self._ctx.organisation.staff_by_id[notification.recipient_id].email)
        url = webhook_for(notification.recipient_id, self._ctx)
        if url is None:
            raise LookupError("no webhook configured any more")
        return url

    def _claim(self, batch: int) -> list[Notification]:
        with transaction(self._engine) as session:
            now = self._ctx.clock.now()
            query = (
                select(Notification)
                .where(Notification.status == "pending", col(Notification.next_attempt_at) <= now)
                .order_by(col(Notification.next_attempt_at))
                .limit(batch)
            )
            if is_postgresql(self._engine):
                query = query.with_for_update(skip_locked=True)
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
            if notification is None or notification.status != "pending":
                return
            now = self._ctx.clock.now()
            notification.status, notification.delivered_at = "delivered", now
            notification.attempts += 1
            session.add(notification)
            announce_delivery(session, notification, now)
            latency = (now - as_utc(notification.event_time)).total_seconds()
            channel, kind = notification.channel, notification.kind

            def count() -> None:
                metrics.NOTIFICATIONS.labels(channel, kind, "delivered").inc()
                metrics.DELIVERY_LATENCY.labels(channel).observe(max(0.0, latency))

            after_commit(session, count)

    def _record_failure(self, notification_id: str, error: str, lasting: bool) -> None:
        """Back off and retry; only a refusal that will not change uses up the attempts.

        An unreachable server (an outage) delays mail without limit, so no mail is lost to it.
        """
        with transaction(self._engine) as session:
            notification = session.get(Notification, notification_id)
            if notification is None or notification.status != "pending":
                return
            now = self._ctx.clock.now()
            notification.attempts += 1
            notification.last_error = error
            channel, kind = notification.channel, notification.kind
            if lasting and notification.attempts >= self._max_attempts:
                notification.status = "failed"
                failed = NotificationFailed(
                    case_id=notification.case_id,
                    notification_id=notification.id,
                    source_event_id=notification.source_event_id.rsplit("#", 1)[-1][:64],
                    recipient_id=notification.recipient_id,
                    channel=channel,
                    attempts=notification.attempts,
                    reason=error,
                    failed_at=now,
                )
                add_event(session, new_event(failed, source="/qa/notifications"))
                after_commit(session, metrics.NOTIFICATIONS.labels(channel, kind, "failed").inc)
            else:
                wait = min(self._backoff * 2 ** (notification.attempts - 1), MAX_BACKOFF)
                notification.next_attempt_at = now + wait
                after_commit(session, metrics.DELIVERY_RETRIES.labels(channel).inc)
            session.add(notification)
        log.warning(
            "delivery failed", extra={"notification_id": notification_id, "channel": channel}
        )

    def send_digests(self) -> int:
        """After the day's digest time, gather each person's held notifications into one email."""
        now = self._ctx.clock.now()
        local = now.astimezone(UK)
        cutoff = datetime.combine(local.date(), self._digest_at, tzinfo=UK)
        if local < cutoff:
            return 0
        sent = 0
        with transaction(self._engine) as session:
            query = select(Notification).where(
                Notification.status == "held", col(Notification.created_at) < cutoff
            )
            if is_postgresql(self._engine):
                query = query.with_for_update(skip_locked=True)  # one replica per held item
            held = session.exec(query).all()
            by_person: dict[str, list[Notification]] = {}
            for notification in held:
                by_person.setdefault(notification.recipient_id, []).append(notification)
            for person, items in by_person.items():
                self._digest(session, person, items, local.date(), now)
                sent += 1
        return sent

    def _digest(
        self, session: Session, person: str, items: list[Notification], day: date, now: datetime
    ) -> None:
        base = self._ctx.base_url.rstrip("/")
        rendered = render_digest(
            day,
            [(n.subject, n.link.removeprefix(base)) for n in items],
            self._ctx.base_url,
        )
        digest = Notification(
            id=f"N-{uuid.uuid4().hex[:16]}",
            source_event_id=f"digest:{person}:{day}:{uuid.uuid4().hex[:8]}",
            event_type="digest",
            kind="information",
            recipient_id=person,
            channel=NotificationChannel.EMAIL,
            case_id=items[0].case_id,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            link=base,
            status="pending",
            event_time=now,
            created_at=now,
            next_attempt_at=now,
        )
        session.add(digest)
        for item in items:
            item.status, item.digest_id = "digested", digest.id
            session.add(item)

    def digest_backlog(self) -> int:
        with Session(self._engine) as session:
            query = (
                select(func.count()).select_from(Notification).where(Notification.status == "held")
            )
            return session.exec(query).one()

    def _deliver_all(self) -> None:
        while self.deliver_due() > 0:
            pass

    def _measure_backlog(self) -> None:
        metrics.DIGEST_BACKLOG.set(self.digest_backlog())

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        while not stop.is_set():
            # Separate steps, so a failing digest never holds back an escalation email.
            for step in (self.send_digests, self._deliver_all, self._measure_backlog):
                try:
                    await asyncio.to_thread(step)
                except Exception:
                    log.exception("delivery step failed; will retry", extra={"step": step.__name__})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)
