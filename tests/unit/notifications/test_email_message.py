"""What an email carries, as a real SMTP server (aiosmtpd on loopback) receives it and a mail
client (the standard library's modern parser) reads it: the subject and both bodies intact,
non-ASCII text included, and the headers a mailbox needs to recognise a repeat."""

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.notifications.models import Notification
from services.notifications.senders import SmtpMailer, SmtpSettings
from tooling.localstack.processes import free_port

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SUBJECT = "Reflective conversation due — CASE-É1 (£0 owed; ünïcode)"
TEXT = "Open the follow-up.\n.A line that starts with a dot\n" + "long words " * 20 + "\n"
HTML = "<p>Open the follow-up — café</p>"


class Keeping:
    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        self.raw.append(envelope.original_content)
        self.envelopes.append((envelope.mail_from, envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def received() -> Iterator[tuple[Keeping, int]]:
    port, keeping = free_port(), Keeping()
    controller = Controller(keeping, hostname="127.0.0.1", port=port)
    controller.start()
    yield keeping, port
    controller.stop()


def sent_and_read(received: tuple[Keeping, int]) -> tuple[EmailMessage, bytes]:
    keeping, port = received
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port, "none", None, None, "QA <qa@x.example>"))
    notification = Notification(
        id="N-MSG-1",
        source_event_id="EV-MSG-1",
        case_id="CASE-É1",
        recipient_id="S0003",
        channel="email",
        kind="action",
        event_type="qa.followup.scheduled.v1",
        subject=SUBJECT,
        body_text=TEXT,
        body_html=HTML,
        link="https://qa.council.example/followups/FU-1",
        status="pending",
        event_time=NOW,
        created_at=NOW,
    )
    try:
        mailer.send(notification, "hos@council.example")
    finally:
        mailer.close()
    (raw,) = keeping.raw
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message, raw


def test_the_subject_and_both_bodies_arrive_as_written(received):
    message, _raw = sent_and_read(received)
    assert message["Subject"] == SUBJECT
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    # SMTP's lines end CRLF; a mail client shows them as line breaks either way
    assert plain.get_content().replace("\r\n", "\n") == TEXT  # the dotted line unstuffed
    assert html.get_content().rstrip("\r\n") == HTML


def test_the_headers_name_the_notification_the_sender_and_the_one_recipient(received):
    message, _raw = sent_and_read(received)
    assert message["Message-ID"] == "<N-MSG-1@qa-platform>"
    assert message["X-QA-Notification"] == "N-MSG-1"
    assert message["From"] == "QA <qa@x.example>"
    assert message["To"] == "hos@council.example"
    assert received[0].envelopes == [("qa@x.example", ["hos@council.example"])]


def test_what_crosses_the_wire_is_ascii_with_readable_bodies(received):
    _message, raw = sent_and_read(received)
    raw.decode("ascii")  # headers encoded (RFC 2047), bodies quoted-printable: 7-bit clean
    assert b"Open the follow-up." in raw  # quoted-printable, not base64
    assert b"caf=C3=A9" in raw
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
