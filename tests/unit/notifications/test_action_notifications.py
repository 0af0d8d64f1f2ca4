"""Agreed actions: who is told of each action event, how, in which words, and only once."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from services.notifications.app import event_handlers
from services.notifications.context import NotifyContext
from services.notifications.messages import compose, render
from services.notifications.models import Notification
from services.notifications.routing import Kind, Recipient, recipients
from shared.clock import FixedClock
from shared.events import (
    ActionAgreed,
    ActionCompleted,
    ActionOverdue,
    ActionReminderDue,
    ActionUpdated,
    EventData,
    new_event,
)
from shared.events.vocabulary import ActionChange
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation

ORG = load_organisation()
HEAD = ORG.leads_of("early_help").head_of_service  # S0003
MANAGER, OWNER = "S0005", "S0006"  # Early Help North's team manager and a practitioner
AT = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
FACTS = {
    "case_id": "CASE-000123",
    "action_id": "ACT-7",
    "origin": "followup",
    "origin_id": "FU-7",
    "audit_id": "AUD-7",
    "service_area": "early_help",
    "team_id": "EH-NORTH",
    "owner_id": OWNER,
    "due_on": date(2026, 12, 4),
    "status": "open",
}


def agreed() -> ActionAgreed:
    return ActionAgreed(**FACTS, agreed_by=HEAD, agreed_at=AT)


def reminder(kind: str = "two_working_days_before") -> ActionReminderDue:
    return ActionReminderDue(**FACTS, reminder=kind)


def overdue(escalated_to: str = MANAGER, days: int = 1) -> ActionOverdue:
    return ActionOverdue(**FACTS, escalated_to_id=escalated_to, working_days_overdue=days)


def completed(by: str = OWNER) -> ActionCompleted:
    return ActionCompleted(**{**FACTS, "status": "done"}, completed_by=by, completed_at=AT)


def updated(change: str, by: str = MANAGER, **facts: object) -> ActionUpdated:
    return ActionUpdated(**{**FACTS, **facts}, change=change, changed_by=by, changed_at=AT)


def told(data: EventData) -> list[Recipient]:
    return recipients(data, None, ORG)


def test_an_agreed_action_asks_its_owner_to_act():
    assert told(agreed()) == [Recipient(OWNER, Kind.ACTION)]


def test_a_reminder_goes_to_the_owner_alone():
    assert told(reminder()) == [Recipient(OWNER, Kind.ACTION)]
    assert told(reminder("due_today")) == [Recipient(OWNER, Kind.ACTION)]


def test_an_overdue_action_asks_the_manager_escalated_to_and_informs_the_owner():
    assert told(overdue()) == [Recipient(MANAGER, Kind.ACTION), Recipient(OWNER, Kind.INFORMATION)]


def test_a_team_managers_own_overdue_action_escalated_to_the_head_of_service():
    data = overdue(escalated_to=HEAD).model_copy(update={"owner_id": MANAGER})
    assert told(data) == [Recipient(HEAD, Kind.ACTION), Recipient(MANAGER, Kind.INFORMATION)]


def test_an_overdue_action_escalated_to_its_own_owner_tells_them_once_to_act():
    assert told(overdue(escalated_to=OWNER)) == [Recipient(OWNER, Kind.ACTION)]


def test_a_done_action_informs_the_head_of_service_of_its_area():
    assert told(completed()) == [Recipient(HEAD, Kind.INFORMATION)]
    other_area = completed().model_copy(update={"service_area": "assessment_intervention"})
    assert told(other_area) == [Recipient("S0017", Kind.INFORMATION)]


def test_a_head_of_service_who_marks_their_own_action_done_is_not_told_of_it():
    assert told(completed(by=HEAD).model_copy(update={"owner_id": HEAD})) == []


def test_a_new_owner_is_asked_to_act_and_the_one_before_is_not_told():
    assert told(updated("owner", owner_id="S0007")) == [Recipient("S0007", Kind.ACTION)]


def test_a_new_due_date_asks_the_owner_to_act():
    assert told(updated("due_date", due_on=date(2026, 12, 11))) == [Recipient(OWNER, Kind.ACTION)]


@pytest.mark.parametrize("change", ["verified", "not_achieved", "cancelled"])
def test_the_re_audits_verdict_and_a_cancellation_inform_the_owner(change):
    assert told(updated(change)) == [Recipient(OWNER, Kind.INFORMATION)]


@pytest.mark.parametrize("change", ["evidence", "reopened"])
def test_evidence_and_reopening_tell_nobody(change):
    assert told(updated(change)) == []
    assert told(updated(change, by=OWNER)) == []


def test_an_owner_is_not_informed_of_their_own_change_but_still_asked_to_act_on_theirs():
    assert told(updated("cancelled", by=OWNER)) == []
    assert told(updated("owner", by=MANAGER, owner_id=MANAGER)) == [Recipient(MANAGER, Kind.ACTION)]


EVERY_ACTION_EVENT = [
    agreed(),
    reminder(),
    reminder("due_today"),
    overdue(),
    completed(),
    *(updated(change.value) for change in ActionChange),
]


@pytest.mark.parametrize("data", EVERY_ACTION_EVENT, ids=lambda d: f"{d.event_type}")
def test_every_action_message_names_the_case_and_links_to_the_actions_page(data):
    rendered = render(compose(data, Kind.ACTION), "https://qa.example.gov.uk/")
    assert "https://qa.example.gov.uk/actions/ACT-7" in rendered.text
    assert '<a href="https://qa.example.gov.uk/actions/ACT-7">' in rendered.html
    assert "CASE-000123" in rendered.subject
    assert "CASE-000123" in rendered.text


@pytest.mark.parametrize(
    ("data", "subject"),
    [
        (agreed(), "[Action] Action for case CASE-000123 due Friday 4 December 2026"),
        (reminder(), "[Reminder] Action for case CASE-000123 due on Friday 4 December 2026"),
        (reminder("due_today"), "[Reminder] Action for case CASE-000123 due today"),
        (overdue(), "[Overdue] Action for case CASE-000123 is 1 working day late"),
        (overdue(days=6), "[Overdue] Action for case CASE-000123 is 6 working days late"),
        (completed(), "[For information] Action for case CASE-000123 done"),
        (
            updated("owner"),
            "[Action] Action for case CASE-000123 is now yours, due Friday 4 December 2026",
        ),
        (
            updated("due_date", due_on=date(2026, 12, 11)),
            "[Action] Action for case CASE-000123 now due Friday 11 December 2026",
        ),
        (
            updated("verified"),
            "[For information] Re-audit verified the action for case CASE-000123",
        ),
        (
            updated("not_achieved"),
            "[For information] Re-audit found the action for case CASE-000123 not achieved",
        ),
        (updated("cancelled"), "[For information] Action for case CASE-000123 cancelled"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_subject_says_what_happened(data, subject):
    assert compose(data, Kind.ACTION).subject == subject


def test_an_agreed_action_says_where_it_was_agreed_and_leaves_what_it_is_to_its_page():
    message = compose(agreed(), Kind.ACTION)
    assert message.headline == (
        "An action agreed at the reflective conversation for case CASE-000123 is yours."
    )
    assert message.lines == [
        "It is due by Friday 4 December 2026.",
        "The action's page says what is to be done.",
    ]
    assert message.link_label == "Open the action"


def test_a_cancellation_points_to_the_page_for_the_reason():
    assert compose(updated("cancelled"), Kind.INFORMATION).lines == ["The action's page says why."]


@pytest.fixture
def handlers(sqlite_engine):
    upgrade("notifications", str(sqlite_engine.url))
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    return event_handlers(NotifyContext(ORG, clock, "https://qa.example.gov.uk", {}))


def deliver(engine, handlers, data: EventData, times: int = 1) -> None:
    event = new_event(data, source="/qa/scheduler")
    for _ in range(times):
        process_once(engine, "notifications", event, handlers[type(data)])


def stored(engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(Notification)).all()
    return sorted((row.recipient_id, row.channel, row.kind) for row in rows)


def test_an_overdue_action_delivered_twice_is_one_inbox_item_and_email_each(
    sqlite_engine, handlers
):
    deliver(sqlite_engine, handlers, overdue(), times=2)
    assert stored(sqlite_engine) == [
        (MANAGER, "email", "action"),
        (MANAGER, "inbox", "action"),
        (OWNER, "email", "information"),
        (OWNER, "inbox", "information"),
    ]


def test_each_repeat_of_an_escalation_is_told_again(sqlite_engine, handlers):
    deliver(sqlite_engine, handlers, overdue(days=1))
    deliver(sqlite_engine, handlers, overdue(days=6))
    assert len(stored(sqlite_engine)) == 8


def test_stored_action_notifications_carry_the_case_and_the_actions_link(sqlite_engine, handlers):
    deliver(sqlite_engine, handlers, agreed())
    deliver(sqlite_engine, handlers, updated("evidence"))
    with Session(sqlite_engine) as session:
        rows = session.exec(select(Notification)).all()
    assert {(row.recipient_id, row.channel) for row in rows} == {(OWNER, "inbox"), (OWNER, "email")}
    for row in rows:
        assert (row.case_id, row.event_type) == ("CASE-000123", "qa.action.agreed.v1")
        assert row.link == "https://qa.example.gov.uk/actions/ACT-7"
