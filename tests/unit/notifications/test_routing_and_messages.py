import re
from datetime import date

import pytest

from services.notifications.messages import Message, compose, render, render_digest
from services.notifications.routing import ROUTED, AuditPeople, Kind, Recipient, recipients
from shared.events import (
    AuditSubmitted,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
    InadequateFound,
    ModerationDisagreed,
)
from shared.organisation import load_organisation
from tests.factories import every_event_data

ORG = load_organisation()
PEOPLE = AuditPeople(
    audit_id="AUD-1",
    service_area="early_help",
    team_id="EH-NORTH",
    practitioner_id="S0006",
    team_manager_id="S0005",
    auditor_id="S0003",
)
EVENTS = {type(data): data for data in every_event_data()}
ROUTED_EVENTS = [EVENTS[kind] for kind in ROUTED]


def routed(kind, **changes):
    return recipients(EVENTS[kind].model_copy(update=changes), PEOPLE, ORG)


def test_reflective_conversation_scheduled_asks_the_owner_to_act():
    assert routed(FollowUpScheduled) == [Recipient("STAFF-201", Kind.ACTION)]


def test_overdue_tells_the_escalation_recipient_and_the_owner():
    assert routed(FollowUpOverdue) == [
        Recipient("STAFF-401", Kind.ACTION),
        Recipient("STAFF-201", Kind.ACTION),
    ]


def test_inadequate_found_informs_team_manager_and_practitioner():
    assert routed(InadequateFound) == [
        Recipient("S0005", Kind.INFORMATION),
        Recipient("S0006", Kind.INFORMATION),
    ]


def test_moderation_disagreement_informs_auditor_and_team_manager():
    assert routed(ModerationDisagreed) == [
        Recipient("S0003", Kind.INFORMATION),
        Recipient("S0005", Kind.INFORMATION),
    ]


def test_completion_informs_head_of_service_and_team_manager_and_escalation_acts():
    head = ORG.leads_of("early_help").head_of_service
    assert routed(FollowUpCompleted) == [
        Recipient(head, Kind.INFORMATION),
        Recipient("S0005", Kind.INFORMATION),
    ]
    escalated = routed(FollowUpCompleted, outcome="still_inadequate", escalated_to_id="S0001")
    assert Recipient("S0001", Kind.ACTION) in escalated


def test_one_person_in_two_roles_is_told_once_as_the_more_urgent_kind():
    data = EVENTS[FollowUpOverdue].model_copy(update={"escalated_to_id": "STAFF-201"})
    assert recipients(data, PEOPLE, ORG) == [Recipient("STAFF-201", Kind.ACTION)]


def test_events_that_need_the_audits_people_say_so_when_they_are_unknown():
    with pytest.raises(LookupError, match="not known yet"):
        recipients(EVENTS[InadequateFound], None, ORG)


NAMES = [member.name for member in ORG.staff]
EMAILS = [str(member.email) for member in ORG.staff]


@pytest.mark.parametrize("kind", Kind)
@pytest.mark.parametrize("data", ROUTED_EVENTS, ids=lambda d: d.event_type)
def test_messages_name_the_case_reference_and_link_but_no_person(data, kind):
    rendered = render(compose(data, kind), "https://qa.example.gov.uk")
    for part in (rendered.subject, rendered.text, rendered.html):
        assert data.case_id in part
        assert not any(name in part for name in NAMES)
        assert not any(name.split()[0] in part.split() for name in NAMES)
        assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", part)
    assert "https://qa.example.gov.uk/" in rendered.text
    assert re.match(r"^\[(Action|Reminder|Overdue|For information)\] ", rendered.subject)
    assert "<script" not in rendered.html


def test_html_escapes_what_a_message_says():
    message = Message("s", "<b>bold</b> & more", ["<i>line</i>"], "/audits/AUD-1")
    html = render(message, "https://x").html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    assert "&lt;i&gt;line&lt;/i&gt;" in html


def test_digest_lists_each_update_with_its_link():
    rendered = render_digest(
        date(2026, 11, 27),
        [("[For information] A", "/audits/AUD-1"), ("[For information] B", "/followups/FU-1")],
        "https://qa.example.gov.uk",
    )
    assert rendered.subject == "[Digest] 2 updates for Friday 27 November 2026"
    assert "https://qa.example.gov.uk/followups/FU-1" in rendered.text


def test_an_event_the_service_does_not_route_is_refused():
    with pytest.raises(TypeError, match="no routing for AuditSubmitted"):
        recipients(EVENTS[AuditSubmitted], PEOPLE, ORG)


def test_a_cancelled_follow_up_informs_head_of_service_and_team_manager():
    head = ORG.leads_of("early_help").head_of_service
    assert routed(FollowUpCancelled) == [
        Recipient(head, Kind.INFORMATION),
        Recipient("S0005", Kind.INFORMATION),
    ]
