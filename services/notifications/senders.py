"""The ways a notification leaves the service: email over SMTP and a JSON webhook POST."""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

import httpx
from pydantic import SecretStr

from services.notifications.models import Notification


class Sender(Protocol):
    def send(self, notification: Notification, address: str) -> None: ...


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
    messages never cross the network in clear.
    """

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
        settings = self._settings
        if settings.username and settings.security == "none":
            raise PlainTextLoginRefused("SMTP login refused without TLS (SMTP_SECURITY=none)")
        with self._connect() as smtp:
            if settings.username:
                password = settings.password.get_secret_value() if settings.password else ""
                smtp.login(settings.username, password)
            smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
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
