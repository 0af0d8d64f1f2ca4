"""The ways a notification leaves the service: email over SMTP and a JSON webhook POST.

Both keep their connections open between messages: an SMTP session (connect, TLS, login)
costs several round trips that one message on an open session does not, so a batch of mail
goes over one session, reopened when it fails and closed once it has been idle a while.
"""

import queue
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.charset import QP, Charset
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import httpx
from pydantic import SecretStr

from services.notifications.models import Notification

IDLE_SECONDS = 20.0
"""An SMTP session unused this long is closed by us, well before servers drop idle ones
(RFC 5321 lets them after 5 minutes), so we never hold a server's connection for nothing."""
CHECK_AFTER_SECONDS = 2.0
"""A session unused this long is checked (NOOP) before a message: the server may have closed
it meanwhile, and finding that out before MAIL FROM, not during DATA, sends nothing twice."""
WEBHOOK_CONCURRENCY = 8
READABLE_UTF8 = Charset("utf-8")
READABLE_UTF8.body_encoding = QP


class Sender(Protocol):
    def send(self, notification: Notification, address: str) -> None: ...


@runtime_checkable
class KeepsConnections(Protocol):
    """A sender that keeps connections open: how many messages it can send at once, and how
    the delivery worker closes what has been idle long enough (and everything at the end)."""

    concurrency: int

    def close_idle(self) -> float | None:
        """Close idle connections; seconds until the next one is due to close, None if none."""
        ...

    def close(self) -> None: ...


SmtpSecurity = Literal["starttls", "tls", "none"]
"""STARTTLS on the submission port, implicit TLS (SMTPS), or none: a local mail catcher only."""


class PlainTextLoginRefused(ValueError):
    """Credentials were configured for a connection without TLS: they are never sent."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None
    password: SecretStr | None
    mail_from: str
    cafile: Path | None = None


class SmtpMailer:
    """Sends a notification as a text + HTML email with a real SMTP client.

    With TLS the server's certificate and host name are verified before anything is sent, and
    a server that does not offer STARTTLS when it is required is refused, so credentials and
    messages never cross the network in clear. Messages go over `connections` sessions kept
    open between them (one by default); each session sends one message at a time.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        connections: int = 1,
        idle_seconds: float = IDLE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self.concurrency = connections
        self._idle_seconds, self._monotonic = idle_seconds, monotonic
        self._free: queue.Queue[_Session] = queue.Queue()
        for _ in range(connections):
            self._free.put(_Session(self._connect, monotonic))

    def send(self, notification: Notification, address: str) -> None:
        settings = self._settings
        if settings.username and settings.security == "none":
            raise PlainTextLoginRefused("SMTP login refused without TLS (SMTP_SECURITY=none)")
        message = self._message(notification, address)
        session = self._free.get()  # waits while every session is sending
        try:
            session.send(message)
        finally:
            self._free.put(session)

    def close_idle(self) -> float | None:
        """Close the sessions idle for `idle_seconds`; seconds until the next one is due."""
        due: list[float] = []
        for session in self._sessions_not_sending():
            left = session.close_if_idle(self._idle_seconds)
            if left is not None:
                due.append(left)
        return min(due, default=None)

    def close(self) -> None:
        for session in self._sessions_not_sending():
            session.close()

    def _sessions_not_sending(self) -> list["_Session"]:
        taken: list[_Session] = []
        try:
            while len(taken) < self.concurrency:
                taken.append(self._free.get_nowait())
        except queue.Empty:
            pass  # the rest are sending now: not idle
        for session in taken:
            self._free.put(session)
        return taken

    def _message(self, notification: Notification, address: str) -> Message:
        # The classic MIME classes (policy compat32) build the same message as EmailMessage at
        # about a quarter of the cost: the modern policy parses every header it is given, which
        # was a third of the service's CPU at 50 audits/s. Non-ASCII headers are still encoded
        # (RFC 2047) when the message is written.
        message = MIMEMultipart("alternative")
        message["Subject"] = notification.subject
        message["From"] = self._settings.mail_from
        message["To"] = address
        # The same Message-ID on every attempt: SMTP cannot be part of our transaction, so a
        # crash between the server's "250 OK" and our commit sends the message again, and
        # mailboxes recognise the repeat as the same message.
        message["Message-ID"] = f"<{notification.id}@qa-platform>"
        message["X-QA-Notification"] = notification.id
        message.attach(_text_part(notification.body_text, "plain"))
        message.attach(_text_part(notification.body_html, "html"))
        return message

    def _connect(self) -> smtplib.SMTP:
        """A new session: connected, encrypted as the settings say, and logged in."""
        settings = self._settings
        smtp = self._open()
        try:
            if settings.username:
                password = settings.password.get_secret_value() if settings.password else ""
                smtp.login(settings.username, password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _open(self) -> smtplib.SMTP:
        settings = self._settings
        cafile = str(settings.cafile) if settings.cafile else None
        context = ssl.create_default_context(cafile=cafile)  # verifies chain and host name
        if settings.security == "tls":
            return smtplib.SMTP_SSL(settings.host, settings.port, timeout=15, context=context)
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=15)
        if settings.security == "starttls":
            try:
                smtp.starttls(context=context)  # SMTPNotSupportedError when not offered
            except BaseException:
                smtp.close()
                raise
        return smtp


class _Session:
    """One SMTP session, opened on first use and reopened after it failed; used by one
    thread at a time (the mailer hands it out from its queue)."""

    def __init__(self, connect: Callable[[], smtplib.SMTP], monotonic: Callable[[], float]) -> None:
        self._connect, self._monotonic = connect, monotonic
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0

    def send(self, message: Message) -> None:
        if self._smtp is not None and self._idle_for() >= CHECK_AFTER_SECONDS:
            self._drop_if_dead()
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except BaseException as exc:
            if not still_usable(exc, self._smtp):
                self._close()
            raise
        finally:
            self._last_used = self._monotonic()

    def close_if_idle(self, idle_seconds: float) -> float | None:
        if self._smtp is None:
            return None
        left = idle_seconds - self._idle_for()
        if left > 0:
            return left
        self._close()
        return None

    def close(self) -> None:
        self._close()

    def _idle_for(self) -> float:
        return self._monotonic() - self._last_used

    def _drop_if_dead(self) -> None:
        assert self._smtp is not None
        try:
            alive = self._smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            alive = False
        if not alive:
            self._close()

    def _close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    """A UTF-8 text part in quoted-printable, readable as it is (MIMEText would use base64)."""
    part = MIMENonMultipart("text", subtype)
    part.set_payload(text, READABLE_UTF8)
    return part


def still_usable(error: BaseException, smtp: smtplib.SMTP) -> bool:
    """Whether a session can carry the next message after `error`: yes when the server
    answered (refused a recipient or the message) and kept the connection; smtplib resets
    the transaction itself then, and closes the socket on 421."""
    answered = isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException)
    return answered and smtp.sock is not None


class WebhookPoster:
    """POSTs a notification as JSON; `text` makes it readable in Teams/Slack-style channels.

    One HTTP client for all calls, so connections to the same host are kept and reused.
    """

    concurrency = WEBHOOK_CONCURRENCY

    def __init__(self) -> None:
        limits = httpx.Limits(max_connections=WEBHOOK_CONCURRENCY)
        self._client = httpx.Client(timeout=10, limits=limits)

    def close_idle(self) -> float | None:
        return None  # the client closes idle connections itself (keep-alive expiry)

    def close(self) -> None:
        self._client.close()

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
        self._client.post(address, json=payload).raise_for_status()


def lasting(error: Exception) -> bool:
    """A refusal that retrying will not change: a 5xx SMTP reply or a 4xx HTTP answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    if isinstance(error, httpx.HTTPStatusError):
        return 400 <= error.response.status_code < 500
    return isinstance(error, LookupError | ValueError)
