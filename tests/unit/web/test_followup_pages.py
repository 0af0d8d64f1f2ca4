"""Follow-up pages: the list, one follow-up's timeline, and recording the conversation."""

from datetime import date

import pytest

from services.web import listing
from services.web.clients.api import ApiError
from services.web.views import followups
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web

HEAD_OF_SERVICE, ASSISTANT_DIRECTOR, OTHER_HEAD = "S0003", "S0001", "S0017"


@pytest.fixture(autouse=True)
def wednesday_25_november(monkeypatch):
    monkeypatch.setattr(listing, "today", lambda: date(2026, 11, 25))


def followup(**changes):
    return {
        "id": "F-1",
        "audit_id": "A-1",
        "case_id": "CASE-101",
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "found_by": "auditor",
        "grading_day": "2026-11-18",
        "status": "open",
        "overdue": False,
        "step": "reflective_conversation",
        "owner_id": HEAD_OF_SERVICE,
        "due_on": "2026-11-25",
        "conversation_due_on": "2026-11-25",
        "conversation_held_on": None,
        "conversation_late": None,
        "attendees": [],
        "agreed_actions": [],
        "reaudit_due_on": None,
        "reaudit_id": None,
        "outcome": None,
        "cancelled_reason": None,
        "timeline": [
            {"at": "2026-11-18T10:00:00+00:00", "what": "opened", "detail": {}},
            {
                "at": "2026-11-18T10:00:00+00:00",
                "what": "reflective_conversation scheduled",
                "detail": {"due_on": "2026-11-25", "owner_id": HEAD_OF_SERVICE},
            },
            {"at": "2026-11-23T08:00:00+00:00", "what": "two_working_days_before", "detail": {}},
        ],
    } | changes


def after_conversation():
    return followup(
        step="reaudit",
        owner_id="S0005",
        due_on="2027-01-06",
        conversation_held_on="2026-11-24",
        conversation_late=False,
        attendees=["S0003", "S0006"],
        agreed_actions=["Review the plan"],
        reaudit_due_on="2027-01-06",
    )


def test_the_list_shows_each_follow_up_with_its_owner_due_date_and_overdue_tag():
    fakes = FakeBackends(
        {"scheduler.followups": [followup(), followup(id="F-2", case_id="CASE-102", overdue=True)]}
    )
    with web(fakes) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        soup = page(client.get("/followups?status=overdue&service_area=early_help"))
    assert text(soup, "h1") == "Follow-ups"
    assert (
        "scheduler.followups",
        (),
        {"status": "overdue", "service_area": "early_help", "limit": 26, "offset": 0},
    ) in fakes.calls
    rows = [
        [td.get_text(" ", strip=True) for td in tr.select("td")] for tr in soup.select("tbody tr")
    ]
    assert rows[0][:5] == [
        "CASE-101",
        "Reflective conversation",
        "Chloe Carter",
        "25 November 2026",
        "Open",
    ]
    assert rows[1][4] == "Overdue"
    assert soup.select_one("tbody a[href='/followups/F-2']") is not None
    assert soup.select_one("#status option[selected]")["value"] == "overdue"
    assert soup.select_one("#service_area option[selected]")["value"] == "early_help"


def the_api_pages(many: list[dict]):
    """The scheduler's list route: at most `limit` rows from `offset`, 100 when not told."""

    def followups(limit: int = 100, offset: int = 0, **_filters: str) -> list[dict]:
        return many[offset : offset + limit]

    return followups


def test_a_long_list_is_asked_for_one_page_at_a_time_and_every_follow_up_is_reachable():
    many = [followup(id=f"F-{n}", case_id=f"CASE-{n}") for n in range(60)]
    fakes = FakeBackends({"scheduler.followups": the_api_pages(many)})
    with web(fakes) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        pages = [page(client.get(f"/followups?status=open&page={n}")) for n in (1, 2, 3)]
    shown = [a["href"] for soup in pages for a in soup.select("tbody a")]
    assert shown == [f"/followups/F-{n}" for n in range(60)]
    assert [len(soup.select("tbody tr")) for soup in pages] == [25, 25, 10]
    assert [call[2]["offset"] for call in fakes.calls if call[0] == "scheduler.followups"] == [
        0,
        25,
        50,
    ]
    assert (
        pages[0].select_one(".govuk-pagination__next a")["href"]
        == "/followups?status=open&service_area=&page=2"
    )
    assert pages[2].select_one(".govuk-pagination__next") is None
    assert pages[2].select_one(".govuk-pagination__prev a")["href"].endswith("page=2")


def test_a_list_that_fits_on_one_page_has_no_pagination():
    fakes = FakeBackends({"scheduler.followups": the_api_pages([followup()] * 25)})
    with web(fakes) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        soup = page(client.get("/followups"))
    assert (len(soup.select("tbody tr")), soup.select_one(".govuk-pagination")) == (25, None)


def test_a_follow_up_shows_its_step_owner_dates_and_timeline_in_plain_words():
    with web(FakeBackends({"scheduler.actions": [], "scheduler.followup": followup()})) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        soup = page(client.get("/followups/F-1"))
    assert text(soup, "h1") == "Follow-up for case CASE-101"
    summary = text(soup, ".govuk-summary-list")
    assert "Next step Reflective conversation" in summary
    assert "Owner Chloe Carter" in summary
    assert "Due 25 November 2026 (Due today)" in summary
    assert "Re-audit due Set when the reflective conversation is recorded" in summary
    timeline = [
        [td.get_text(strip=True) for td in tr.select("td")]
        for tr in soup.select(".app-timeline tbody tr")
    ]
    assert timeline == [
        ["18 November 2026 at 10:00", "Follow-up opened"],
        ["18 November 2026 at 10:00", "Reflective conversation scheduled"],
        ["23 November 2026 at 08:00", "Reminder sent: due in two working days"],
    ]
    assert soup.select_one("form[action='/followups/F-1/conversation']") is None  # not the Head


def test_after_the_conversation_the_re_audit_date_and_owner_are_shown():
    with web(
        FakeBackends({"scheduler.actions": [], "scheduler.followup": after_conversation()})
    ) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/followups/F-1"))
    summary = text(soup, ".govuk-summary-list")
    assert "Re-audit due 6 January 2027" in summary
    assert "Re-audit owner Ellen Evans" in summary
    assert "Attendees Chloe Carter, Femi Fischer" in summary
    assert soup.select_one("form[action='/followups/F-1/conversation']") is None


def test_the_areas_head_of_service_gets_the_conversation_form():
    with web(FakeBackends({"scheduler.actions": [], "scheduler.followup": followup()})) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/followups/F-1"))
    form = soup.select_one("form[action='/followups/F-1/conversation']")
    assert form.select_one("input[name=csrf_token]")["value"]
    assert [i["name"] for i in form.select("#held_on input")] == [
        "held_on-day",
        "held_on-month",
        "held_on-year",
    ]
    people = [i["value"] for i in form.select("input[name=attendees]")]
    assert people[:2] == ["S0003", "S0001"]  # the area's leads first
    assert "S0006" in people  # a practitioner of one of its teams
    assert "S0020" not in people  # another area's practitioner
    assert [
        f.select_one("legend").get_text(strip=True) for f in form.select(".app-agreed-action")
    ] == [
        "Agreed action 1",
        "Agreed action 2",
        "Agreed action 3",
    ]
    owners = [o["value"] for o in form.select("#action-1-owner_id option")]
    assert owners[:2] == ["S0003", "S0005"]  # the Head of Service, then the team's manager
    assert {"S0006", "S0007"} <= set(owners)  # the team's practitioners
    assert "S0010" not in owners  # another team's
    assert form.select_one("#action-1-owner_id option[selected]")["value"] == "S0005"
    assert [
        i["name"] for i in form.select(".app-agreed-action")[0].select(".govuk-date-input input")
    ] == [
        "action-1-due_on-day",
        "action-1-due_on-month",
        "action-1-due_on-year",
    ]


def test_another_areas_head_of_service_gets_no_form():
    with web(FakeBackends({"scheduler.actions": [], "scheduler.followup": followup()})) as client:
        sign_in(client, OTHER_HEAD)
        soup = page(client.get("/followups/F-1"))
    assert soup.select_one("form[action='/followups/F-1/conversation']") is None


def conversation(token, **changes):
    return {
        "csrf_token": token,
        "held_on-day": "24",
        "held_on-month": "11",
        "held_on-year": "2026",
        "attendees": ["S0003", "S0006"],
        **agreed(1, "Review the plan", "S0005"),
        **agreed(2, ""),
        **agreed(3, "  Visit within a week  ", "S0006", "4", "12", "2026"),
    } | changes


def agreed(number, what, owner="S0005", day="", month="", year=""):
    """One row of the conversation form's agreed actions, as a browser sends it."""
    prefix = f"action-{number}-"
    return {
        f"{prefix}what": what,
        f"{prefix}owner_id": owner,
        f"{prefix}due_on-day": day,
        f"{prefix}due_on-month": month,
        f"{prefix}due_on-year": year,
    }


def test_recording_the_conversation_sends_it_and_shows_when_the_re_audit_is_due():
    fakes = FakeBackends(
        {
            "scheduler.actions": [],
            "scheduler.followup": followup(),
            "scheduler.record_conversation": {},
        }
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.post(
            "/followups/F-1/conversation", data=conversation(csrf(client, "/followups/F-1"))
        )
        fakes.answers["scheduler.followup"] = after_conversation()
        shown = page(client.get(answer.headers["location"]))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/followups/F-1?recorded=conversation"
    body = {
        "held_on": "2026-11-24",
        "recorded_by": HEAD_OF_SERVICE,
        "attendees": ["S0003", "S0006"],
        "agreed_actions": [
            {"what": "Review the plan", "owner_id": "S0005", "due_on": None},
            {"what": "Visit within a week", "owner_id": "S0006", "due_on": "2026-12-04"},
        ],
        "confirmed": [],
    }
    assert ("scheduler.record_conversation", ("F-1", body), {}) in fakes.calls
    assert text(shown, ".govuk-notification-banner").endswith(
        "Reflective conversation recorded: the re-audit is due on 6 January 2027"
    )


@pytest.mark.parametrize(
    ("changes", "field", "href", "message"),
    [
        (
            {"held_on-day": "", "held_on-month": "", "held_on-year": ""},
            "held_on",
            "#held_on-day",
            "Enter the date the conversation was held",
        ),
        (
            {"held_on-day": "31", "held_on-month": "2"},
            "held_on",
            "#held_on-day",
            "The date the conversation was held must be a real date",
        ),
        (
            {"held_on-day": "26"},
            "held_on",
            "#held_on-day",
            "The date the conversation was held must be today or in the past",
        ),
        ({"attendees": []}, "attendees", "#attendees", "Select who attended the conversation"),
        (
            agreed(1, " ") | agreed(3, ""),
            "action-1-what",
            "#action-1-what",
            "Enter at least one agreed action",
        ),
        (
            agreed(3, "x" * 501, "S0006"),
            "action-3-what",
            "#action-3-what",
            "Agreed action 3 must be 500 characters or fewer",
        ),
        (
            agreed(3, "", "S0006", "4", "12", "2026"),
            "action-3-what",
            "#action-3-what",
            "Enter agreed action 3, or clear its due date",
        ),
        (
            agreed(3, "Visit", "S0010"),
            "action-3-owner_id",
            "#action-3-owner_id",
            "Select who owns agreed action 3",
        ),
        (
            agreed(3, "Visit", "S0006", "31", "11", "2026"),
            "action-3-due_on",
            "#action-3-due_on-day",
            "The due date of agreed action 3 must be a real date",
        ),
        (
            agreed(3, "Visit", "S0006", "24", "11", "2026"),
            "action-3-due_on",
            "#action-3-due_on-day",
            "The due date of agreed action 3 must be today or in the future",
        ),
        (
            agreed(3, "Visit", "S0006", "28", "11", "2026"),
            "action-3-due_on",
            "#action-3-due_on-day",
            "The due date of agreed action 3 must be a working day, not a weekend or bank holiday",
        ),
    ],
)
def test_the_form_is_checked_before_anything_is_sent(changes, field, href, message):
    fakes = FakeBackends({"scheduler.actions": [], "scheduler.followup": followup()})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.post(
            "/followups/F-1/conversation",
            data=conversation(csrf(client, "/followups/F-1"), **changes),
        )
    soup = page(answer)
    assert answer.status_code == 422
    assert soup.title.get_text().startswith("Error: ")
    links = [
        (a.get_text(strip=True), a["href"]) for a in soup.select(".govuk-error-summary__list a")
    ]
    assert links == [(message, href)]
    assert message in text(soup, f"#{field}-error")
    assert soup.select_one(href) is not None
    assert not any(name == "scheduler.record_conversation" for name, _, _ in fakes.calls)


def test_the_typed_answers_are_kept_when_the_form_is_shown_again():
    with web(FakeBackends({"scheduler.actions": [], "scheduler.followup": followup()})) as client:
        sign_in(client, HEAD_OF_SERVICE)
        token = csrf(client, "/followups/F-1")
        soup = page(
            client.post(
                "/followups/F-1/conversation", data=conversation(token, **{"held_on-day": "x"})
            )
        )
    assert soup.select_one("#held_on-day")["value"] == "x"
    assert soup.select_one("input[name=attendees][value=S0006]").has_attr("checked")
    assert "Visit within a week" in soup.select_one("#action-3-what").get_text()
    assert soup.select_one("#action-3-owner_id option[selected]")["value"] == "S0006"
    assert soup.select_one("#action-3-due_on-day")["value"] == "4"


def test_the_apis_field_errors_are_shown_at_their_fields():
    refused = ApiError(
        422, "Some answers need changing", {"held_on": "must not be before the grading day"}
    )
    fakes = FakeBackends(
        {
            "scheduler.actions": [],
            "scheduler.followup": followup(),
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
    assert (link.get_text(strip=True), link["href"]) == (
        "Date held: must not be before the grading day",
        "#held_on-day",
    )


def test_the_apis_refusal_of_the_recorder_is_shown_in_the_summary():
    refused = ApiError(
        422,
        "Some answers need changing",
        {"recorded_by": "only the Head of Service of the area records it"},
    )
    fakes = FakeBackends(
        {
            "scheduler.actions": [],
            "scheduler.followup": followup(),
            "scheduler.record_conversation": refused,
        }
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.post(
            "/followups/F-1/conversation", data=conversation(csrf(client, "/followups/F-1"))
        )
    assert "Only the Head of Service of the area records it" in text(
        page(answer), ".govuk-error-summary"
    )


def test_a_different_conversation_recorded_before_is_shown_as_an_error():
    fakes = FakeBackends(
        {
            "scheduler.actions": [],
            "scheduler.followup": after_conversation(),
            "scheduler.record_conversation": ApiError(409, "F-1"),
        }
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.post(
            "/followups/F-1/conversation", data=conversation(csrf(client, "/followups/F-1"))
        )
    assert answer.status_code == 409
    assert "A different reflective conversation was already recorded" in text(
        page(answer), ".govuk-error-summary"
    )


def test_the_conversation_form_needs_the_csrf_token():
    fakes = FakeBackends({"scheduler.actions": [], "scheduler.followup": followup()})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.post("/followups/F-1/conversation", data=conversation("forged"))
    assert answer.status_code == 403
    assert not any(name == "scheduler.record_conversation" for name, _, _ in fakes.calls)


def test_timeline_entries_read_as_plain_words():
    words = followups.timeline_words
    assert words({"what": "reaudit scheduled", "detail": {}}) == "Re-audit scheduled"
    assert (
        words({"what": "reflective conversation held", "detail": {"late": True}})
        == "Reflective conversation held (late)"
    )
    assert words({"what": "completed", "detail": {"outcome": "improved"}}) == "Completed: Improved"
    assert words({"what": "overdue", "detail": {"sequence": 1}}) == "Escalated as overdue"


def test_the_area_filter_offers_the_areas_the_person_leads():
    with web(FakeBackends({"scheduler.followups": []})) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/followups"))
    offered = [o.get_text(strip=True) for o in soup.select("#service_area option")]
    assert offered == ["All your service areas", "Early help"]
    assert "No follow-ups match." in text(soup, "main")


def test_a_refused_re_audit_is_shown_with_who_made_it_and_why_it_did_not_count():
    refused = {
        "audit_id": "A-9",
        "auditor_id": "S0005",
        "reason": "case_team_manager",
        "at": "2026-12-01T10:00:00Z",
    }
    entry = {
        "at": "2026-12-01T10:00:00+00:00",
        "what": "reaudit refused",
        "detail": {"reaudit_id": "A-9", "auditor_id": "S0005", "reason": "case_team_manager"},
    }
    shown = after_conversation() | {
        "refused_reaudits": [refused],
        "timeline": [*after_conversation()["timeline"], entry],
    }
    with web(FakeBackends({"scheduler.actions": [], "scheduler.followup": shown})) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/followups/F-1"))
    assert text(soup, ".app-refused-reaudits") == (
        "Audit A-9 by Ellen Evans: it was by the case's own team manager"
    )
    assert soup.select_one(".app-refused-reaudits a")["href"] == "/audits/A-9"
    last = soup.select(".app-timeline tbody tr")[-1].select("td")[1].get_text(strip=True)
    assert last == "Re-audit not accepted: it was by the case's own team manager"


def test_a_follow_up_with_no_refused_re_audit_shows_no_such_section():
    with web(
        FakeBackends({"scheduler.actions": [], "scheduler.followup": followup(refused_reaudits=[])})
    ) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/followups/F-1"))
    assert soup.select_one(".app-refused-reaudits") is None


def test_reassignment_and_refusal_read_as_plain_words():
    words = followups.timeline_words
    assert words({"what": "reaudit reassigned", "detail": {"to": "S0018"}}) == (
        "Re-audit reassigned"
    )
    assert words({"what": "reaudit refused", "detail": {"reason": "not_assigned_auditor"}}) == (
        "Re-audit not accepted: it was not by the auditor the re-audit is assigned to"
    )


def personal_data_warning() -> ApiError:
    """The scheduler's 422 for an agreed action that looks like it names someone."""
    message = "this looks like it holds a person's name: write about practice"
    return ApiError(
        422,
        "Some answers need changing",
        {"agreed_actions[1]": message},
        confirmations={"agreed_actions[1]": message},
        codes={"agreed_actions[1]": "personal_data"},
    )


def test_an_agreed_action_that_looks_like_personal_data_is_shown_with_a_box_to_keep_it():
    fakes = FakeBackends(
        {
            "scheduler.actions": [],
            "scheduler.followup": followup(),
            "scheduler.record_conversation": personal_data_warning(),
        }
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.post(
            "/followups/F-1/conversation", data=conversation(csrf(client, "/followups/F-1"))
        )
    soup = page(answer)
    assert answer.status_code == 422
    summary = soup.select_one(".govuk-error-summary")
    # the second action sent is the form's third row: the second was left empty
    assert "Agreed action 3: this looks like it holds a person's name" in text(
        summary, ".govuk-error-summary__list"
    )
    form = soup.select_one("form[action='/followups/F-1/conversation']")
    box = form.select_one("input[name=confirmed][value=personal_data]")
    assert box is not None
    assert not box.has_attr("checked")
    assert "Visit within a week" in form.select_one("#action-3-what").get_text()


def test_ticking_the_box_sends_the_conversation_again_confirmed():
    fakes = FakeBackends(
        {
            "scheduler.actions": [],
            "scheduler.followup": followup(),
            "scheduler.record_conversation": {},
        }
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        token = csrf(client, "/followups/F-1")
        answer = client.post(
            "/followups/F-1/conversation", data=conversation(token, confirmed=["personal_data"])
        )
    assert answer.status_code == 303
    [(_, (_, body), _)] = [c for c in fakes.calls if c[0] == "scheduler.record_conversation"]
    assert body["confirmed"] == ["personal_data"]
