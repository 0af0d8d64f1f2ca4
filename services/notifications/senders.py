"""The ways a notification leaves the service: email over SMTP and a JSON webhook POST."""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import httpx

from services.notifications.models import Notification


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


def lasting(error: Exception) -> bool:
    """A refusal that retrying will not change: a 5xx SMTP reply or a 4xx HTTP answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    if isinstance(error, httpx.HTTPStatusError):
        return 400 <= error.response.status_code < 500
    return isinstance(error, LookupError | ValueError)
