"""The monthly audit programme: who is told of each allocation event and of every audit's grade,
how, in which words, and only once."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from services.notifications.app import event_handlers
from services.notifications.context import NotifyContext
from services.notifications.messages import compose, render
from services.notifications.models import AuditPeopleRow, Notification
from services.notifications.routing import AuditPeople, Kind, Recipient, recipients
from services.notifications.service import SERVICE
from shared.clock import FixedClock
from shared.events import (
    AuditAllocated,
    AuditExempted,
    AuditGraded,
    AuditOverdue,
    AuditReminderDue,
    EventData,
    InadequateFound,
    new_event,
)
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from tests.factories import audit_graded

ORG = load_organisation()
AUDITOR = "S0009"  # Early Help South's team manager, a trained auditor outside the case's team
MANAGER, PRACTITIONER = "S0005", "S0006"  # Early Help North's team manager and a practitioner
LINE_MANAGER = "S0003"  # the auditor's line manager, whom an overdue audit is escalated to
QA_LEAD = "S0004"
DIRECTOR = ORG.leads_of("early_help").assistant_director
AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
FACTS = {
    "case_id": "CASE-000123",
    "allocation_id": "ALC-7",
    "programme_id": "PRG-2026-12",
    "month": "2026-12",
    "service_area": "early_help",
    "team_id": "EH-NORTH",
    "practitioner_id": PRACTITIONER,
    "team_manager_id": MANAGER,
    "auditor_id": AUDITOR,
    "due_on": date(2026, 12, 30),
}


def allocated(**changes: object) -> AuditAllocated:
    return AuditAllocated(**{**FACTS, "allocated_by": None, "allocated_at": AT, **changes})


def exempted(by: str = DIRECTOR) -> AuditExempted:
    return AuditExempted(**FACTS, exempted_by=by, exempted_at=AT)


def reminder(kind: str = "two_working_days_before") -> AuditReminderDue:
    return AuditReminderDue(**FACTS, reminder=kind)


def overdue(escalated_to: str = LINE_MANAGER, days: int = 1) -> AuditOverdue:
    return AuditOverdue(**FACTS, escalated_to_id=escalated_to, working_days_overdue=days)


def graded(grade: str = "good", audit_id: str = "AUD-7", **changes: object) -> AuditGraded:
    people = {
        "team_id": "EH-NORTH",
        "service_area": "early_help",
        "practitioner_id": PRACTITIONER,
        "team_manager_id": MANAGER,
        "auditor_id": AUDITOR,
    }
    return audit_graded("CASE-000123", grade, audit_id, **{**people, **changes})


def found_inadequate(audit_id: str = "AUD-7") -> InadequateFound:
    return InadequateFound(
        case_id="CASE-000123",
        audit_id=audit_id,
        service_area="early_help",
        team_id="EH-NORTH",
        graded_at=AT,
        found_by="auditor",
    )


def told(data: EventData) -> list[Recipient]:
    return recipients(data, None, ORG)


def test_an_allocation_asks_its_auditor_to_act_and_informs_the_cases_people():
    assert told(allocated()) == [
        Recipient(AUDITOR, Kind.ACTION),
        Recipient(PRACTITIONER, Kind.INFORMATION),
        Recipient(MANAGER, Kind.INFORMATION),
    ]


def test_an_allocation_on_demand_is_told_as_one_drawn_on_its_day():
    assert told(allocated(allocated_by=QA_LEAD)) == told(allocated())


def test_a_team_manager_holding_the_case_is_told_of_its_allocation_once():
    assert told(allocated(practitioner_id=MANAGER)) == [
        Recipient(AUDITOR, Kind.ACTION),
        Recipient(MANAGER, Kind.INFORMATION),
    ]


def test_a_reallocation_asks_the_new_auditor_alone_the_cases_people_were_invited_already():
    again = allocated(allocation_id="ALC-8", auditor_id="S0013", reallocated_from="ALC-7")
    assert told(again) == [Recipient("S0013", Kind.ACTION)]


def test_an_exemption_informs_the_auditor_alone():
    assert told(exempted()) == [Recipient(AUDITOR, Kind.INFORMATION)]


@pytest.mark.parametrize("kind", ["two_working_days_before", "due_today"])
def test_a_reminder_asks_the_auditor_alone(kind):
    assert told(reminder(kind)) == [Recipient(AUDITOR, Kind.ACTION)]


def test_an_overdue_audit_asks_the_line_manager_to_act_and_informs_the_auditor():
    assert told(overdue()) == [
        Recipient(LINE_MANAGER, Kind.ACTION),
        Recipient(AUDITOR, Kind.INFORMATION),
    ]


def test_an_overdue_audit_escalated_to_its_own_auditor_tells_them_once_to_act():
    assert told(overdue(escalated_to=AUDITOR)) == [Recipient(AUDITOR, Kind.ACTION)]


@pytest.mark.parametrize("grade", ["outstanding", "good", "requires_improvement"])
@pytest.mark.parametrize(
    "kind", [{}, {"audit_kind": "thematic"}, {"audit_kind": "reaudit", "reaudit_of": "AUD-1"}]
)
def test_every_audit_not_inadequate_informs_the_cases_practitioner_alone(grade, kind):
    assert told(graded(grade, **kind)) == [Recipient(PRACTITIONER, Kind.INFORMATION)]


def test_an_inadequate_audit_leaves_the_practitioner_to_its_inadequate_finding():
    assert told(graded("inadequate")) == []
    people = AuditPeople("AUD-7", "early_help", "EH-NORTH", PRACTITIONER, MANAGER, AUDITOR)
    finding = recipients(found_inadequate(), people, ORG)
    assert [r for r in finding if r.staff_id == PRACTITIONER] == [
        Recipient(PRACTITIONER, Kind.INFORMATION)
    ]


EVERY_ALLOCATION_EVENT = [
    allocated(),
    allocated(reallocated_from="ALC-6"),
    exempted(),
    reminder(),
    reminder("due_today"),
    overdue(),
]


@pytest.mark.parametrize("kind", Kind)
@pytest.mark.parametrize("data", EVERY_ALLOCATION_EVENT, ids=lambda d: d.event_type)
def test_every_allocation_message_names_the_case_and_links_to_the_allocations_page(data, kind):
    rendered = render(compose(data, kind), "https://qa.example.gov.uk/")
    assert "https://qa.example.gov.uk/allocations/ALC-7" in rendered.text
    assert '<a href="https://qa.example.gov.uk/allocations/ALC-7">' in rendered.html
    assert "CASE-000123" in rendered.subject
    assert "CASE-000123" in rendered.text


@pytest.mark.parametrize(
    ("data", "kind", "subject"),
    [
        (
            allocated(),
            Kind.ACTION,
            "[Action] Audit allocated: case CASE-000123 due Wednesday 30 December 2026",
        ),
        (
            allocated(),
            Kind.INFORMATION,
            "[For information] Case CASE-000123 chosen for this month's audit: add your reflection",
        ),
        (
            exempted(),
            Kind.INFORMATION,
            "[For information] Audit of case CASE-000123 exempted from the December 2026 programme",
        ),
        (
            reminder(),
            Kind.ACTION,
            "[Reminder] Audit of case CASE-000123 due on Wednesday 30 December 2026",
        ),
        (reminder("due_today"), Kind.ACTION, "[Reminder] Audit of case CASE-000123 due today"),
        (overdue(), Kind.ACTION, "[Overdue] Audit of case CASE-000123 is 1 working day late"),
        (
            overdue(days=3),
            Kind.INFORMATION,
            "[Overdue] Audit of case CASE-000123 is 3 working days late",
        ),
        (
            graded("good"),
            Kind.INFORMATION,
            "[For information] Audit of case CASE-000123 graded Good: your learning",
        ),
        (
            graded("requires_improvement"),
            Kind.INFORMATION,
            "[For information] Audit of case CASE-000123 graded Requires improvement: "
            "your learning",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_subject_says_what_happened(data, kind, subject):
    assert compose(data, kind).subject == subject


def test_the_case_is_chosen_at_random_for_the_month_and_the_invitation_says_by_when():
    message = compose(allocated(), Kind.INFORMATION)
    assert message.headline == (
        "Case CASE-000123 was chosen at random for the December 2026 audit programme."
    )
    assert message.lines == [
        "A trained auditor from outside the team will audit it with you by "
        "Wednesday 30 December 2026.",
        "Please add your reflection on the allocation's page.",
    ]
    assert message.link_label == "Open the allocation"


def test_a_reallocation_tells_its_new_auditor_the_audit_was_passed_on():
    message = compose(allocated(reallocated_from="ALC-6"), Kind.ACTION)
    assert message.headline == (
        "The audit of case CASE-000123 in the December 2026 programme has been passed to you."
    )


def test_the_overdue_audits_manager_is_asked_to_see_it_done_and_its_auditor_told_who_knows():
    assert compose(overdue(), Kind.ACTION).lines == [
        "This has been escalated to you. Please make sure it is submitted."
    ]
    assert compose(overdue(), Kind.INFORMATION).lines == [
        "Your line manager has been told. Please submit it from the allocation's page."
    ]


def test_an_exemption_points_to_the_page_for_the_reason():
    assert compose(exempted(), Kind.INFORMATION).lines[-1] == "The allocation's page says why."


def test_the_grade_links_to_the_audit_where_its_learning_points_are():
    rendered = render(compose(graded("good"), Kind.INFORMATION), "https://qa.example.gov.uk")
    assert "https://qa.example.gov.uk/audits/AUD-7" in rendered.text
    assert "what could be better" in rendered.text
    assert "Record the child's wishes" not in rendered.text + rendered.html


def test_an_inadequate_finding_says_where_its_learning_is_too():
    message = compose(found_inadequate(), Kind.INFORMATION)
    assert message.lines[-1] == "The audit's page shows what could be better."
    assert message.link_path == "/audits/AUD-7"


@pytest.fixture
def handlers(sqlite_engine):
    upgrade("notifications", str(sqlite_engine.url))
    clock = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    return event_handlers(NotifyContext(ORG, clock, "https://qa.example.gov.uk", {}))


def deliver(engine, handlers, data: EventData, times: int = 1) -> None:
    event = new_event(data, source="/qa/audit")
    for _ in range(times):
        process_once(engine, "notifications", event, handlers[type(data)])


def stored(engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification)).all())


def told_how(engine) -> list[tuple[str, str, str]]:
    return sorted((row.recipient_id, row.channel, row.kind) for row in stored(engine))


def test_every_topic_the_service_consumes_has_a_handler(handlers):
    assert {event.topic for event in handlers} == set(SERVICE.consumes)


def test_an_allocation_delivered_twice_is_one_inbox_item_and_email_each_in_their_words(
    sqlite_engine, handlers
):
    deliver(sqlite_engine, handlers, allocated(), times=2)
    assert told_how(sqlite_engine) == [
        (MANAGER, "email", "information"),
        (MANAGER, "inbox", "information"),
        (PRACTITIONER, "email", "information"),
        (PRACTITIONER, "inbox", "information"),
        (AUDITOR, "email", "action"),
        (AUDITOR, "inbox", "action"),
    ]
    subjects = {row.recipient_id: row.subject for row in stored(sqlite_engine)}
    assert subjects[AUDITOR].startswith("[Action] Audit allocated: case CASE-000123")
    assert subjects[PRACTITIONER] == subjects[MANAGER]
    assert subjects[PRACTITIONER].startswith("[For information] Case CASE-000123 chosen")
    for row in stored(sqlite_engine):
        assert (row.case_id, row.event_type) == ("CASE-000123", "qa.allocation.allocated.v1")
        assert row.link == "https://qa.example.gov.uk/allocations/ALC-7"


def test_each_repeat_of_an_overdue_audit_is_told_again(sqlite_engine, handlers):
    deliver(sqlite_engine, handlers, overdue(days=1), times=2)
    deliver(sqlite_engine, handlers, overdue(days=3))
    assert len(stored(sqlite_engine)) == 8  # two people, two channels, two escalations


def test_a_graded_audit_delivered_twice_tells_its_practitioner_once_and_learns_its_people(
    sqlite_engine, handlers
):
    deliver(sqlite_engine, handlers, graded("good"), times=2)
    assert told_how(sqlite_engine) == [
        (PRACTITIONER, "email", "information"),
        (PRACTITIONER, "inbox", "information"),
    ]
    assert {row.link for row in stored(sqlite_engine)} == {"https://qa.example.gov.uk/audits/AUD-7"}
    with Session(sqlite_engine) as session:
        assert session.get(AuditPeopleRow, "AUD-7") is not None


@pytest.mark.parametrize("finding_first", [False, True])
def test_an_inadequate_audit_tells_its_practitioner_once_whichever_event_comes_first(
    sqlite_engine, handlers, finding_first
):
    events: list[EventData] = [graded("inadequate"), found_inadequate()]
    for data in reversed(events) if finding_first else events:
        deliver(sqlite_engine, handlers, data)
    practitioner = [row for row in stored(sqlite_engine) if row.recipient_id == PRACTITIONER]
    assert sorted(row.channel for row in practitioner) == ["email", "inbox"]
    assert {row.subject for row in practitioner} == {
        "[For information] Audit of case CASE-000123 graded Inadequate"
    }
    assert {row.recipient_id for row in stored(sqlite_engine)} == {PRACTITIONER, MANAGER}
