"""A follow-up's action plan on its page, and the conversation form's rows of agreed actions."""

from datetime import date

import pytest

from services.web import listing
from services.web.clients.api import ApiError
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web
from tests.unit.web.test_action_pages import action
from tests.unit.web.test_followup_pages import agreed, conversation, followup

HEAD_OF_SERVICE = "S0003"


@pytest.fixture(autouse=True)
def wednesday_25_november(monkeypatch):
    monkeypatch.setattr(listing, "today", lambda: date(2026, 11, 25))


def test_the_follow_up_page_shows_its_action_plan_asked_for_by_origin():
    plan = [action(), action(id="ACT-2", what="Visit weekly", owner_id="S0005", status="done")]
    fakes = FakeBackends({"scheduler.followup": followup(), "scheduler.actions": plan})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/followups/F-1"))
    assert ("scheduler.actions", (), {"origin_id": "F-1", "limit": 100, "offset": 0}) in fakes.calls
    rows = [
        [td.get_text(" ", strip=True) for td in tr.select("td")]
        for tr in soup.select(".app-actions tbody tr")
    ]
    assert [row[:4] for row in rows] == [
        [
            "Update the child's plan with SMART outcomes",
            "Femi Fischer",
            "27 November 2026 (2 working days left)",
            "Open",
        ],
        ["Visit weekly", "Ellen Evans", "27 November 2026", "Done"],
    ]
    assert soup.select_one(".app-actions a[href='/actions/ACT-2']") is not None
    assert soup.select_one("a[href='/cases/CASE-101/actions']") is not None


def test_the_follow_up_page_still_shows_when_its_action_plan_cannot_be_had():
    fakes = FakeBackends(
        {"scheduler.followup": followup(), "scheduler.actions": ApiError(503, "down")}
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.get("/followups/F-1")
    assert answer.status_code == 200
    assert "cannot be shown just now" in text(page(answer), ".app-action-plan-unavailable")


def test_add_another_action_shows_one_more_row_and_keeps_what_was_typed():
    fakes = FakeBackends({"scheduler.followup": followup(), "scheduler.actions": []})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.post(
            "/followups/F-1/conversation",
            data=conversation(csrf(client, "/followups/F-1"), add="action"),
        )
    soup = page(answer)
    assert answer.status_code == 200
    assert len(soup.select(".app-agreed-action")) == 4
    assert "Visit within a week" in soup.select_one("#action-3-what").get_text()
    assert soup.select_one("#action-4-owner_id option[selected]")["value"] == "S0005"
    assert soup.select_one(".govuk-error-summary") is None
    assert not any(call[0] == "scheduler.record_conversation" for call in fakes.calls)


def test_twenty_rows_offer_no_more():
    rows = {}
    for number in range(1, 21):
        rows |= agreed(number, f"Action {number}")
    fakes = FakeBackends({"scheduler.followup": followup(), "scheduler.actions": []})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        token = csrf(client, "/followups/F-1")
        soup = page(
            client.post(
                "/followups/F-1/conversation", data=conversation(token, add="action", **rows)
            )
        )
    assert len(soup.select(".app-agreed-action")) == 20
    assert soup.select_one("button[name=add]") is None


def test_the_schedulers_refusal_of_one_actions_date_is_shown_at_that_rows_date():
    refused = ApiError(
        422,
        "Some answers need changing",
        {"agreed_actions[1].due_on": "must be a working day (not a weekend or bank holiday)"},
    )
    fakes = FakeBackends(
        {
            "scheduler.followup": followup(),
            "scheduler.actions": [],
            "scheduler.record_conversation": refused,
        }
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.post(
            "/followups/F-1/conversation", data=conversation(csrf(client, "/followups/F-1"))
        )
    link = page(answer).select_one(".govuk-error-summary__list a")
    assert answer.status_code == 422
    # the second action sent is the third row: the second row was left empty
    assert (link.get_text(strip=True), link["href"]) == (
        "Due date of agreed action 3: must be a working day (not a weekend or bank holiday)",
        "#action-3-due_on-day",
    )
