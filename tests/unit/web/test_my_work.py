"""My work: the sections a person's roles call for, each from the APIs as that person."""

from datetime import date

import pytest

from services.web import listing
from services.web.clients.api import ApiError
from tests.unit.web.pages import FakeBackends, page, sign_in, text, web

HEAD_OF_SERVICE, PRACTITIONER, MODERATOR = "S0003", "S0006", "S0004"
ASSISTANT_DIRECTOR, TEAM_MANAGER = "S0001", "S0005"


@pytest.fixture(autouse=True)
def wednesday_25_november(monkeypatch):
    monkeypatch.setattr(listing, "today", lambda: date(2026, 11, 25))


def followup(**changes):
    return {
        "id": "F-1",
        "case_id": "CASE-101",
        "service_area": "early_help",
        "status": "open",
        "overdue": False,
        "step": "reflective_conversation",
        "owner_id": HEAD_OF_SERVICE,
        "due_on": "2026-11-30",
    } | changes


def audit(**changes):
    return {
        "id": "A-1",
        "case_id": "CASE-201",
        "audit_kind": "learning",
        "overall_grade": "good",
        "graded_at": "2026-11-20T10:00:00+00:00",
    } | changes


def moderation(**changes):
    return {
        "id": "M-1",
        "case_id": "CASE-301",
        "audit_id": "A-9",
        "auditor_grade": "inadequate",
        "reason": "sampled",
        "requested_at": "2026-11-24T09:00:00+00:00",
        "moderator_id": MODERATOR,
        "status": "open",
    } | changes


def answers(**more):
    return {"notifications.inbox": {"unread": 2, "items": []}} | more


def headings(soup):
    return [h.get_text(strip=True) for h in soup.select("main h2")]


def section(soup, title):
    heading = next(h for h in soup.select("main h2") if h.get_text(strip=True) == title)
    return heading.find_parent("section")


def my_work(fakes, staff_id):
    with web(fakes) as client:
        sign_in(client, staff_id)
        return page(client.get("/"))


def test_a_head_of_service_sees_follow_ups_with_working_days_left_or_late():
    fakes = FakeBackends(
        answers(
            **{
                "scheduler.followups": [
                    followup(),
                    followup(id="F-2", case_id="CASE-102", due_on="2026-11-20", overdue=True),
                ]
            }
        )
    )
    soup = my_work(fakes, HEAD_OF_SERVICE)
    found = section(soup, "Follow-ups in your service areas")
    rows = [
        [td.get_text(" ", strip=True) for td in tr.select("td")] for tr in found.select("tbody tr")
    ]
    assert rows[0][:5] == [
        "CASE-101",
        "Reflective conversation",
        "Chloe Carter",
        "30 November 2026",
        "3 working days left",
    ]
    assert rows[1][4] == "Overdue late by 3 working days"
    assert found.select_one("a[href='/followups/F-2']") is not None
    assert ("scheduler.followups", (), {"status": "open"}) in fakes.calls
    assert "Moderations waiting for you" not in headings(soup)


def test_the_unread_count_links_to_the_inbox():
    soup = my_work(FakeBackends(answers()), PRACTITIONER)
    link = soup.select_one("main a[href='/inbox']")
    assert link is not None
    assert link.get_text(strip=True) == "2 unread messages"


def test_a_practitioner_sees_audits_of_their_cases_and_no_moderation_queue_or_follow_ups():
    fakes = FakeBackends(answers(**{"audit.audits": [audit(overall_grade="inadequate")]}))
    soup = my_work(fakes, PRACTITIONER)
    assert headings(soup) == ["Your cases chosen for audit", "Audits of your cases"]
    found = section(soup, "Audits of your cases")
    assert "Inadequate" in text(found, "tbody tr")
    assert found.select_one("a[href='/audits/A-1']") is not None
    assert ("audit.audits", (), {"practitioner_id": PRACTITIONER}) in fakes.calls
    assert ("audit.allocations", (), {"limit": 10}) in fakes.calls
    assert not any(name.startswith(("moderation.", "scheduler.")) for name, _, _ in fakes.calls)


def test_a_team_manager_sees_their_teams_audits_and_their_own_as_an_auditor():
    fakes = FakeBackends(answers(**{"audit.audits": [audit()]}))
    soup = my_work(fakes, TEAM_MANAGER)
    assert headings(soup) == [
        "Audits allocated to you",
        "Your audits",
        "Your team's cases chosen for audit",
        "Audits of your cases",
        "Your team's learning",
    ]
    assert ("audit.allocations", (), {"auditor_id": TEAM_MANAGER, "limit": 10}) in fakes.calls
    assert ("audit.allocations", (), {"team_id": "EH-NORTH", "limit": 10}) in fakes.calls
    assert ("audit.audits", (), {"team_manager_id": TEAM_MANAGER}) in fakes.calls
    assert ("audit.audits", (), {"auditor_id": TEAM_MANAGER, "limit": 10}) in fakes.calls


def test_a_moderator_sees_the_moderations_waiting_for_them():
    fakes = FakeBackends(answers(**{"moderation.moderations": [moderation()], "audit.audits": []}))
    soup = my_work(fakes, MODERATOR)
    found = section(soup, "Moderations waiting for you")
    cells = [td.get_text(" ", strip=True) for td in found.select("tbody td")]
    assert cells[:4] == ["CASE-301", "Inadequate", "Sampled at random", "24 November 2026 at 09:00"]
    assert found.select_one("a[href='/moderations/M-1']") is not None
    assert (
        "moderation.moderations",
        (),
        {"moderator": MODERATOR, "status": "open"},
    ) in fakes.calls


def test_an_assistant_director_sees_escalations_of_overdue_follow_ups():
    def followups_by_status(status):
        return [followup(due_on="2026-11-20", overdue=True)] if status == "overdue" else []

    fakes = FakeBackends(answers(**{"scheduler.followups": followups_by_status}))
    soup = my_work(fakes, ASSISTANT_DIRECTOR)
    assert "Escalations" in headings(soup)
    assert "late by 3 working days" in text(section(soup, "Escalations"), "tbody")
    assert ("scheduler.followups", (), {"status": "overdue"}) in fakes.calls


def test_an_empty_section_says_nothing_is_waiting():
    soup = my_work(FakeBackends(answers(**{"audit.audits": []})), PRACTITIONER)
    assert text(section(soup, "Audits of your cases"), "p") == "Nothing waiting."


def test_a_section_whose_api_fails_says_so_and_the_page_still_shows():
    fakes = FakeBackends(
        answers(**{"audit.audits": ApiError(422, "unknown filter"), "scheduler.followups": []})
    )
    soup = my_work(fakes, HEAD_OF_SERVICE)
    assert text(soup, "h1") == "My work"
    assert "cannot be shown right now" in text(section(soup, "Your audits"), "p")
    assert text(section(soup, "Follow-ups in your service areas"), "p") == "Nothing waiting."


@pytest.mark.parametrize(
    ("due_on", "phrase"),
    [
        ("2026-11-25", "Due today"),
        ("2026-11-26", "1 working day left"),
        ("2026-11-24", "late by 1 working day"),
        ("2026-12-28", "21 working days left"),  # Christmas and Boxing Day substitute
    ],
)
def test_working_days_left_or_late_count_working_days_only(due_on, phrase):
    assert listing.working_days_phrase(due_on) == phrase


def test_only_those_who_set_sampling_rates_get_the_link_to_them():
    director = my_work(FakeBackends(answers(**{"scheduler.followups": []})), ASSISTANT_DIRECTOR)
    practitioner = my_work(FakeBackends(answers()), PRACTITIONER)
    assert director.select_one("main a[href='/sampling']") is not None
    assert practitioner.select_one("main a[href='/sampling']") is None
