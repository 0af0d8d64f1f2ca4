"""Notifications on Apache Kafka and PostgreSQL, with a real SMTP server and a real webhook."""

import asyncio
import json
import threading
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from services.notifications.app import create_app
from services.notifications.settings import NotificationSettings
from shared.events import (
    ActionCompleted,
    ActionOverdue,
    AuditAllocated,
    EventData,
    FollowUpScheduled,
    kafka_key,
    new_event,
    serialize,
)
from shared.events.topics import NOTIFICATION_DELIVERED
from shared.organisation import load_organisation
from tests.factories import audit_graded, unique_case
from tests.integration.kafka_tools import eventually, read_all
from tests.tokens import bearer
from tooling.localstack.processes import free_port
from tooling.localstack.topics import ensure_topics

ORG = load_organisation()
HEAD = ORG.leads_of("early_help").head_of_service


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def about(self, case: str) -> list:
        return [m for m in self.messages if case in m["Subject"]]


def smtp_server(port: int) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args):
        pass


@pytest.fixture
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hook.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.fixture
async def service(kafka_bootstrap, postgres_url, webhook):
    await ensure_topics(kafka_bootstrap)
    port = free_port()
    settings = NotificationSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=postgres_url,
        smtp_port=port,
        outbox_poll_seconds=0.1,
        delivery_poll_seconds=0.1,
        delivery_backoff_seconds=0.3,
        webhook_urls={HEAD: webhook},
        record_base_url="https://qa.example.gov.uk",
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://notifications",
            headers=bearer(HEAD),
        ) as client,
    ):
        yield client, port


async def publish_twice(bootstrap: str, case: str) -> str:
    data = FollowUpScheduled(
        case_id=case,
        followup_id="FU-77",
        audit_id="AUD-77",
        action="reflective_conversation",
        owner_id=HEAD,
        due_on=date(2026, 12, 4),
        service_area="early_help",
        scheduled_at=datetime.now(UTC),
    )
    return await publish(bootstrap, data, times=2)


async def publish(
    bootstrap: str, data: EventData, times: int = 1, source: str = "/qa/scheduler"
) -> str:
    """Publish `data` as `source` does, `times` times over (the same event each time)."""
    event = new_event(data, source=source)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for _ in range(times):
            await producer.send_and_wait(data.topic, serialize(event), key=kafka_key(event))
    finally:
        await producer.stop()
    return event.id


async def test_head_of_service_gets_one_email_one_inbox_item_and_one_webhook_call(
    service, kafka_bootstrap, webhook
):
    client, port = service
    controller, mailbox = smtp_server(port)
    try:
        case = unique_case()
        await publish_twice(kafka_bootstrap, case)
        await eventually(lambda: len(mailbox.about(case)) == 1, what="the email")
        await eventually(
            lambda: any(p["case_id"] == case for _, p in Hook.received), what="the webhook call"
        )
        await asyncio.sleep(1.5)  # time for any duplicate to show up
        [mail] = mailbox.about(case)
    finally:
        controller.stop()
    assert mail["To"] == str(ORG.staff_by_id[HEAD].email)
    assert (
        mail["Subject"]
        == f"[Action] Reflective conversation due Friday 4 December 2026 - case {case}"
    )
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "https://qa.example.gov.uk/followups/FU-77" in text
    assert '<a href="https://qa.example.gov.uk/followups/FU-77">' in html
    assert ORG.staff_by_id[HEAD].name not in text + html

    hooks = [(kind, p) for kind, p in Hook.received if p["case_id"] == case]
    assert len(hooks) == 1
    assert hooks[0][0] == "application/json"
    assert hooks[0][1]["text"] == mail["Subject"]

    inbox = (await client.get(f"/inbox/{HEAD}")).json()
    mine = [i for i in inbox["items"] if i["case_id"] == case]
    assert len(mine) == 1
    assert mine[0]["read"] is False
    read = await client.post(f"/inbox/{mine[0]['id']}/read")
    assert read.json()["read"] is True
    after = (await client.get(f"/inbox/{HEAD}")).json()["items"]
    assert [i["read"] for i in after if i["id"] == mine[0]["id"]] == [True]
    someone_else = await client.post(
        f"/inbox/{mine[0]['id']}/read",
        headers=bearer(ORG.leads_of("early_help").assistant_director),
    )
    assert someone_else.status_code == 403

    delivered = await read_all(kafka_bootstrap, NOTIFICATION_DELIVERED, 3, key=case.encode())
    assert sorted(json.loads(r.value)["data"]["channel"] for r in delivered) == [
        "email",
        "inbox",
        "webhook",
    ]


async def test_mail_sent_while_the_smtp_server_is_down_arrives_once_when_it_is_back(
    service, kafka_bootstrap
):
    client, port = service
    case = unique_case()
    await publish_twice(kafka_bootstrap, case)
    metrics_before = (await client.get("/metrics")).text
    await eventually(lambda: _retried(client, metrics_before), what="a failed SMTP attempt")
    controller, mailbox = smtp_server(port)
    try:
        await eventually(lambda: len(mailbox.about(case)) == 1, timeout=60, what="the late email")
        await asyncio.sleep(1.5)
        assert len(mailbox.about(case)) == 1
    finally:
        controller.stop()


async def _retried(client, before: str) -> bool:
    def retries(text: str) -> float:
        prefix = 'qa_notification_retries_total{channel="email"}'
        line = next((row for row in text.splitlines() if row.startswith(prefix)), None)
        return float(line.split()[-1]) if line else 0.0

    return retries((await client.get("/metrics")).text) > retries(before)


async def test_preferences_can_be_read_and_changed(service):
    client, _ = service
    client.headers.update(bearer("S0005"))
    assert (await client.get("/preferences/S0005")).json() == {
        "staff_id": "S0005",
        "information": "immediately",
    }
    changed = await client.put("/preferences/S0005", json={"information": "daily_digest"})
    assert changed.json()["information"] == "daily_digest"
    assert (await client.get("/preferences/S0005")).json()["information"] == "daily_digest"
    assert (
        await client.put("/preferences/S0005", json={"information": "hourly"})
    ).status_code == 422
    assert (await client.get("/preferences/S0006")).status_code == 403  # someone else's


def action_facts(case: str, status: str = "open") -> dict[str, object]:
    return {
        "case_id": case,
        "action_id": "ACT-77",
        "origin": "followup",
        "origin_id": "FU-77",
        "audit_id": "AUD-77",
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "owner_id": "S0006",
        "due_on": date(2026, 12, 4),
        "status": status,
    }


async def test_an_overdue_action_emails_its_manager_and_owner_once_and_its_completion_the_head(
    service, kafka_bootstrap
):
    client, port = service
    controller, mailbox = smtp_server(port)
    case = unique_case()
    overdue = ActionOverdue(**action_facts(case), escalated_to_id="S0005", working_days_overdue=2)
    done = ActionCompleted(
        **action_facts(case, "done"), completed_by="S0006", completed_at=datetime.now(UTC)
    )
    try:
        await publish(kafka_bootstrap, overdue, times=2)
        await publish(kafka_bootstrap, done)
        await eventually(lambda: len(mailbox.about(case)) == 3, what="three emails")
        await asyncio.sleep(1.5)  # time for any duplicate to show up
        mails = mailbox.about(case)
    finally:
        controller.stop()
    late = f"[Overdue] Action for case {case} is 2 working days late"
    assert sorted((m["To"], m["Subject"]) for m in mails) == sorted(
        [
            (str(ORG.staff_by_id["S0005"].email), late),
            (str(ORG.staff_by_id["S0006"].email), late),
            (str(ORG.staff_by_id[HEAD].email), f"[For information] Action for case {case} done"),
        ]
    )
    for mail in mails:
        text = mail.get_body(("plain",)).get_content()
        assert "https://qa.example.gov.uk/actions/ACT-77" in text
        assert not any(member.name in text for member in ORG.staff)
    inbox = (await client.get(f"/inbox/{HEAD}")).json()["items"]
    assert [i["subject"] for i in inbox if i["case_id"] == case] == [
        f"[For information] Action for case {case} done"
    ]


AUDITOR, MANAGER, PRACTITIONER = "S0009", "S0005", "S0006"  # the auditor is outside EH-NORTH


async def test_an_allocation_emails_auditor_and_case_people_once_and_a_grade_the_practitioner(
    service, kafka_bootstrap
):
    client, port = service
    controller, mailbox = smtp_server(port)
    case = unique_case()
    allocated = AuditAllocated(
        case_id=case,
        allocation_id="ALC-77",
        programme_id="PRG-2026-12",
        month="2026-12",
        service_area="early_help",
        team_id="EH-NORTH",
        practitioner_id=PRACTITIONER,
        team_manager_id=MANAGER,
        auditor_id=AUDITOR,
        due_on=date(2026, 12, 30),
        allocated_by=None,
        allocated_at=datetime.now(UTC),
    )
    graded = audit_graded(
        case,
        "good",
        "AUD-77",
        service_area="early_help",
        team_id="EH-NORTH",
        practitioner_id=PRACTITIONER,
        team_manager_id=MANAGER,
        auditor_id=AUDITOR,
    )
    try:
        await publish(kafka_bootstrap, allocated, times=2, source="/qa/audit")
        await publish(kafka_bootstrap, graded, times=2, source="/qa/audit")
        await eventually(lambda: len(mailbox.about(case)) == 4, what="four emails")
        await asyncio.sleep(1.5)  # time for any duplicate to show up
        mails = mailbox.about(case)
    finally:
        controller.stop()
    invited = f"[For information] Case {case} chosen for this month's audit: add your reflection"
    # a long subject is folded onto a second header line: compare it unfolded
    assert sorted((m["To"], " ".join(m["Subject"].split())) for m in mails) == sorted(
        [
            (
                str(ORG.staff_by_id[AUDITOR].email),
                f"[Action] Audit allocated: case {case} due Wednesday 30 December 2026",
            ),
            (str(ORG.staff_by_id[PRACTITIONER].email), invited),
            (str(ORG.staff_by_id[MANAGER].email), invited),
            (
                str(ORG.staff_by_id[PRACTITIONER].email),
                f"[For information] Audit of case {case} graded Good: your learning",
            ),
        ]
    )
    for mail in mails:
        text = mail.get_body(("plain",)).get_content()
        graded_mail = "graded Good" in " ".join(mail["Subject"].split())
        path = "/audits/AUD-77" if graded_mail else "/allocations/ALC-77"
        assert f"https://qa.example.gov.uk{path}" in text
        assert not any(member.name in text for member in ORG.staff)
    client.headers.update(bearer(PRACTITIONER))
    inbox = (await client.get(f"/inbox/{PRACTITIONER}")).json()["items"]
    assert sorted(i["subject"] for i in inbox if i["case_id"] == case) == sorted(
        [invited, f"[For information] Audit of case {case} graded Good: your learning"]
    )
