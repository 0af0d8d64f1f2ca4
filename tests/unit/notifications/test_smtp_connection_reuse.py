"""Email goes over one SMTP session kept open between messages, reopened when it fails, and
closed once idle: against the local mail catcher (aiosmtpd) and a server counting sessions."""

import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from services.notifications.models import Notification
from services.notifications.senders import SmtpMailer, SmtpSettings
from tooling.localstack.mail import MailCatcher
from tooling.localstack.processes import free_port

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def notification(number: int, case: str = "CASE-R") -> Notification:
    return Notification(
        id=f"N-REUSE-{number}",
        source_event_id=f"EV-REUSE-{number}",
        case_id=case,
        recipient_id="S0003",
        channel="email",
        kind="action",
        event_type="qa.followup.scheduled.v1",
        subject=f"Reflective conversation due for {case} ({number})",
        body_text="Open the follow-up.",
        body_html="<p>Open the follow-up.</p>",
        link="https://qa.council.example/followups/FU-1",
        status="pending",
        event_time=NOW,
        created_at=NOW,
    )


class Counting:
    """Keeps every message and counts the SMTP sessions opened to it."""

    def __init__(self) -> None:
        self.sessions = 0
        self.subjects: list[str] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        self.subjects.append(envelope.content.decode().split("Subject: ")[1].split("\r\n")[0])
        return "250 Message accepted for delivery"


class CountingController(Controller):
    def __init__(self, handler: Counting, port: int) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=port)
        self.counting = handler

    def factory(self) -> SMTP:
        counting = self.counting

        class CountingSMTP(SMTP):
            def connection_made(self, transport: Any) -> None:
                counting.sessions += 1
                super().connection_made(transport)

        return CountingSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def server() -> Iterator[tuple[CountingController, int]]:
    port = free_port()
    controller = CountingController(Counting(), port)
    controller.start()
    controller.counting.sessions = 0  # the controller's own start-up probe
    yield controller, port
    controller.stop()


class Ticks:
    """A monotonic clock a test moves."""

    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


def mailer(port: int, ticks: Ticks | None = None) -> SmtpMailer:
    settings = SmtpSettings("127.0.0.1", port, "none", None, None, "qa@council.example")
    return SmtpMailer(settings, idle_seconds=20, monotonic=ticks or Ticks())


def test_many_messages_go_over_one_smtp_session(server):
    controller, port = server
    sender = mailer(port)
    for number in range(5):
        sender.send(notification(number), "head@council.example")
    assert len(controller.counting.subjects) == 5
    assert controller.counting.sessions == 1
    sender.close()


def test_a_session_the_server_dropped_is_reopened_for_the_next_message():
    port, counting, ticks = free_port(), Counting(), Ticks()
    first = CountingController(counting, port)
    first.start()
    sender = mailer(port, ticks)
    sender.send(notification(1), "head@council.example")
    first.stop()  # the server goes away while the session is idle, and comes back
    again = CountingController(counting, port)
    again.start()
    try:
        ticks.at += 5  # idle long enough to be checked before use
        sender.send(notification(2), "head@council.example")
        sender.close()
    finally:
        again.stop()
    assert len(counting.subjects) == 2


def test_a_session_idle_for_a_while_is_closed_and_the_worker_told_when(server):
    controller, port = server
    ticks = Ticks()
    sender = mailer(port, ticks)
    assert sender.close_idle() is None  # nothing open
    sender.send(notification(1), "head@council.example")
    ticks.at += 5
    assert sender.close_idle() == 15.0  # closes in 15 s more
    ticks.at += 15
    assert sender.close_idle() is None  # closed now
    sender.send(notification(2), "head@council.example")
    assert controller.counting.sessions == 2


def test_a_message_refused_for_good_leaves_the_session_open_for_the_rest(tmp_path: Path):
    catcher = MailCatcher(tmp_path / "mail", refused={"CASE-REFUSED"})
    catcher.start()
    try:
        sender = mailer(catcher.port)
        sender.send(notification(1), "head@council.example")
        with pytest.raises(smtplib.SMTPDataError) as refusal:
            sender.send(notification(2, "CASE-REFUSED"), "head@council.example")
        assert refusal.value.smtp_code == 554
        sender.send(notification(3), "head@council.example")
        sender.close()
    finally:
        catcher.stop()
    assert sorted(path.name.split("-", 1)[1] for path in (tmp_path / "mail").glob("*.eml")) == [
        "N-REUSE-1@qa-platform.eml",
        "N-REUSE-3@qa-platform.eml",
    ]


def test_an_unreachable_server_fails_the_send_and_the_next_one_connects_afresh():
    port = free_port()
    sender = mailer(port)
    with pytest.raises(ConnectionRefusedError):
        sender.send(notification(1), "head@council.example")
    controller = CountingController(Counting(), port)
    controller.start()
    try:
        sender.send(notification(2), "head@council.example")
        assert len(controller.counting.subjects) == 1
        sender.close()
    finally:
        controller.stop()
