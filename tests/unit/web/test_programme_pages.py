"""The monthly programme's pages: the months drawn and the draw form, and one month's page."""

from datetime import date

import pytest

from services.web import listing
from services.web.clients.api import ApiError
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web
from tests.unit.web.test_api_client import refusal

QA_LEAD, HEAD_OF_SERVICE, ASSISTANT_DIRECTOR, PRACTITIONER = "S0004", "S0003", "S0001", "S0006"
AUDITOR = "S0013"


@pytest.fixture(autouse=True)
def wednesday_25_november(monkeypatch):
    monkeypatch.setattr(listing, "today", lambda: date(2026, 11, 25))


def summary(**changes):
    return {
        "id": "PRG-1",
        "month": "2026-11",
        "size": 50,
        "seed": 8123,
        "drawn_at": "2026-11-02T07:00:00+00:00",
        "drawn_by": None,
        "allocated": 48,
        "submitted": 20,
        "exempted": 1,
    } | changes


def allocation(**changes):
    return {
        "id": "ALC-1",
        "programme_id": "PRG-1",
        "month": "2026-12",
        "case_id": "CASE-101",
        "team_id": "EH-NORTH",
        "service_area": "early_help",
        "practitioner_id": "S0006",
        "team_manager_id": "S0005",
        "auditor_id": AUDITOR,
        "status": "allocated",
        "due_on": "2026-12-31",
        "late": False,
        "allocated_at": "2026-12-01T07:00:00+00:00",
        "allocated_by": QA_LEAD,
        "reallocated_from": None,
        "reallocated_to": None,
        "audit_id": None,
        "reason": None,
        "exempted_by": None,
        "why_case": "Drawn at random (seed 8123) from Early Help North: quota 4 of 23 eligible "
        "cases",
        "why_auditor": "S0013: a trained auditor outside EH-NORTH, holding 2 open audits, the "
        "fewest",
        "draft": None,
        "draft_saved_at": None,
        "reflections": [],
        "participants": [AUDITOR],
    } | changes


def programme(**changes):
    return {
        "id": "PRG-2",
        "month": "2026-12",
        "size": 50,
        "minimum_per_team": 1,
        "seed": 8123,
        "due_on": "2026-12-31",
        "drawn_at": "2026-11-25T10:00:00+00:00",
        "drawn_by": QA_LEAD,
        "eligible_cases": 230,
        "open_cases": 300,
        "note": None,
        "teams": [
            {
                "team_id": "EH-NORTH",
                "team_name": "Early Help North",
                "service_area": "early_help",
                "open_cases": 30,
                "eligible_cases": 23,
                "quota": 4,
                "drawn": 4,
            }
        ],
        "unallocated": [
            {"case_id": "CASE-900", "team_id": "CL-WEST", "reason": "no trained auditor is free"}
        ],
        "allocations": [
            allocation(),
            allocation(id="ALC-2", case_id="CASE-102", status="in_progress", late=True),
        ],
    } | changes


def stats(**changes):
    return {
        "month": "2026-12",
        "target": 50,
        "allocated": 48,
        "in_progress": 10,
        "submitted": 30,
        "exempted": 2,
        "declined": 1,
        "late": 3,
        "remaining_working_days": 4,
        "by_team": [
            {
                "team_id": "EH-NORTH",
                "team_name": "Early Help North",
                "allocated": 4,
                "submitted": 2,
                "exempted": 1,
                "late": 1,
            },
            {
                "team_id": "CL-WEST",
                "team_name": "Care Leavers West",
                "allocated": 0,
                "submitted": 0,
                "exempted": 0,
                "late": 0,
            },
        ],
        "by_auditor": [{"auditor_id": AUDITOR, "allocated": 3, "submitted": 1, "late": 1}],
    } | changes


def cells(soup, selector):
    return [
        [cell.get_text(" ", strip=True) for cell in tr.select("th, td")]
        for tr in soup.select(f"{selector} tbody tr")
    ]


# --- the months drawn and the draw form ---------------------------------------------------


def test_the_qa_lead_sees_the_months_drawn_and_the_draw_form_with_its_defaults():
    fakes = FakeBackends({"audit.programmes": [summary()]})
    with web(fakes) as client:
        sign_in(client, QA_LEAD)
        soup = page(client.get("/programme"))
    assert text(soup, "h1") == "Audit programme"
    assert cells(soup, ".app-programmes") == [
        [
            "November 2026",
            "50",
            "48",
            "20",
            "1",
            "2 November 2026 at 07:00, on the configured day",
            "8123",
        ]
    ]
    assert soup.select_one(".app-programmes a[href='/programme/2026-11']") is not None
    form = soup.select_one("form.app-form-draw[method=post][action='/programme']")
    assert form is not None
    values = {i["name"]: i.get("value", "") for i in form.select("input:not([type=hidden])")}
    assert values == {
        "month-month": "12",
        "month-year": "2026",
        "size": "50",
        "minimum_per_team": "1",
        "seed": "",
    }
    nav = [a.get_text(strip=True) for a in soup.select(".govuk-service-navigation__link")]
    assert "Audit programme" in nav


@pytest.mark.parametrize("reader", [HEAD_OF_SERVICE, ASSISTANT_DIRECTOR])
def test_heads_of_service_and_assistant_directors_read_the_months_but_get_no_draw_form(reader):
    with web(FakeBackends({"audit.programmes": [summary()]})) as client:
        sign_in(client, reader)
        soup = page(client.get("/programme"))
    assert len(cells(soup, ".app-programmes")) == 1
    assert soup.select_one("form.app-form-draw") is None


def test_a_practitioner_is_not_offered_the_programme_and_the_api_refusal_is_the_page():
    fakes = FakeBackends(
        {
            "audit.programmes": ApiError(403, "not allowed"),
            "audit.audits": [],
            "notifications.inbox": {"unread": 0, "items": []},
        }
    )
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        home = page(client.get("/"))
        answer = client.get("/programme")
    nav = [a.get_text(strip=True) for a in home.select(".govuk-service-navigation__link")]
    assert "Audit programme" not in nav
    assert "Allocated audits" in nav
    assert answer.status_code == 403
    assert text(page(answer), "h1") == "You cannot see this"


def draw(client, **fields):
    data = {
        "csrf_token": csrf(client, "/programme"),
        "month-month": "12",
        "month-year": "2026",
        "size": "50",
        "minimum_per_team": "1",
        "seed": "",
    }
    return client.post("/programme", data=data | fields)


def test_drawing_posts_the_parameters_and_redirects_to_the_month():
    fakes = FakeBackends(
        {
            "audit.programmes": [],
            "audit.draw_programme": programme(),
            "audit.programme": programme(),
            "audit.programme_stats": stats(),
        }
    )
    with web(fakes) as client:
        sign_in(client, QA_LEAD)
        answer = draw(client, size=" 40 ", seed="8123")
        shown = page(client.get(answer.headers["location"]))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/programme/2026-12?drawn=1"
    body = {"month": "2026-12", "size": 40, "minimum_per_team": 1, "seed": 8123, "due_on": None}
    assert ("audit.draw_programme", (body,), {}) in fakes.calls
    assert "Programme drawn" in text(shown, ".govuk-notification-banner")


def test_no_seed_asks_the_service_for_a_random_one():
    fakes = FakeBackends({"audit.programmes": [], "audit.draw_programme": programme()})
    with web(fakes) as client:
        sign_in(client, QA_LEAD)
        draw(client)
    [sent] = [call[1][0] for call in fakes.calls if call[0] == "audit.draw_programme"]
    assert sent["seed"] is None


@pytest.mark.parametrize(
    ("fields", "href", "message"),
    [
        ({"month-month": "", "month-year": ""}, "#month-month", "Enter the month to draw"),
        ({"month-month": "13"}, "#month-month", "The month must be a real month, like 12 2026"),
        ({"size": "fifty"}, "#size", "Enter the number of cases as a whole number from 1 to 1000"),
        ({"size": "0"}, "#size", "Enter the number of cases as a whole number from 1 to 1000"),
        (
            {"minimum_per_team": "-1"},
            "#minimum_per_team",
            "Enter the minimum per team as a whole number, like 1",
        ),
        (
            {"size": "5", "minimum_per_team": "6"},
            "#minimum_per_team",
            "The minimum per team must not be more than the number of cases",
        ),
        (
            {"seed": "abc"},
            "#seed",
            "Enter the seed as a whole number, like 8123, or leave it empty",
        ),
    ],
)
def test_bad_parameters_are_shown_in_an_error_summary_linked_to_their_field(fields, href, message):
    fakes = FakeBackends({"audit.programmes": []})
    with web(fakes) as client:
        sign_in(client, QA_LEAD)
        answer = draw(client, **fields)
    soup = page(answer)
    assert answer.status_code == 422
    assert soup.title.get_text().startswith("Error: ")
    link = soup.select_one(".govuk-error-summary a")
    assert (link.get_text(strip=True), link["href"]) == (message, href)
    assert message in text(soup, ".govuk-error-message")
    assert not any(call[0] == "audit.draw_programme" for call in fakes.calls)


def test_a_month_drawn_already_is_an_error_that_links_to_it():
    fakes = FakeBackends(
        {
            "audit.programmes": [summary(month="2026-12")],
            "audit.draw_programme": ApiError(409, "the programme for 2026-12 is drawn already"),
        }
    )
    with web(fakes) as client:
        sign_in(client, QA_LEAD)
        answer = draw(client)
    soup = page(answer)
    assert answer.status_code == 409
    assert (
        text(soup, ".govuk-error-summary a") == "The programme for December 2026 is drawn already"
    )
    assert soup.select_one(".app-drawn-already a[href='/programme/2026-12']") is not None
    assert soup.select_one("#size")["value"] == "50"  # what was typed stays


def test_the_services_rule_refusal_is_shown_at_its_field():
    too_many = refusal(
        [
            {
                "loc": ["body", "minimum_per_team"],
                "field": "minimum_per_team",
                "msg": "15 teams with eligible cases need at least 30 cases, more than 20",
                "type": "programme_rule",
            }
        ]
    )
    fakes = FakeBackends({"audit.programmes": [], "audit.draw_programme": too_many})
    with web(fakes) as client:
        sign_in(client, QA_LEAD)
        answer = draw(client, size="20", minimum_per_team="2")
    link = page(answer).select_one(".govuk-error-summary a")
    assert answer.status_code == 422
    assert link["href"] == "#minimum_per_team"
    assert link.get_text(strip=True) == (
        "Minimum per team: 15 teams with eligible cases need at least 30 cases, more than 20"
    )


# --- one month ----------------------------------------------------------------------------


def test_a_month_shows_parameters_progress_teams_unallocated_and_allocations():
    fakes = FakeBackends({"audit.programme": programme(), "audit.programme_stats": stats()})
    with web(fakes) as client:
        sign_in(client, QA_LEAD)
        soup = page(client.get("/programme/2026-12"))
    assert ("audit.programme", ("2026-12",), {}) in fakes.calls
    assert ("audit.programme_stats", ("2026-12",), {}) in fakes.calls
    assert text(soup, "h1") == "December 2026"
    parameters = text(soup, ".app-parameters")
    assert "Seed 8123" in parameters
    assert "Drawn 25 November 2026 at 10:00 by Dev Dhillon" in parameters
    progress = text(soup, ".app-progress")
    assert "Allocated 48 of 50" in progress
    assert "Submitted 30 of 50" in progress
    assert "Exempted 2" in progress
    assert "Late 3" in progress
    assert cells(soup, ".app-by-team") == [
        ["Early Help North", "4", "2", "1", "1"],
        ["Care Leavers West", "0", "0", "0", "0"],  # a team with nothing still shows
    ]
    assert cells(soup, ".app-by-auditor") == [["Marcus Mensah", "3", "1", "1"]]
    assert cells(soup, ".app-teams") == [["Early Help North", "Early help", "30", "23", "4"]]
    assert cells(soup, ".app-unallocated") == [
        ["CASE-900", "Care Leavers West", "no trained auditor is free"]
    ]
    rows = soup.select(".app-allocations tbody tr")
    first = [td.get_text(" ", strip=True) for td in rows[0].select("td")][:5]
    assert first == [
        "CASE-101",
        "Early Help North",
        "Marcus Mensah",
        "31 December 2026",
        "Allocated",
    ]
    assert "In progress Late" in rows[1].select("td")[4].get_text(" ", strip=True)
    why = rows[0].select_one("details.govuk-details")
    assert text(why, "summary").startswith("Why this case, why this auditor")
    assert text(why, ".app-why-case").startswith("Drawn at random (seed 8123)")
    assert text(why, ".app-why-auditor").startswith("S0013: a trained auditor outside EH-NORTH")
    assert rows[0].select_one("a[href='/allocations/ALC-1']") is not None


def test_the_month_still_shows_when_its_figures_cannot_be_had():
    fakes = FakeBackends(
        {"audit.programme": programme(), "audit.programme_stats": ApiError(503, "down")}
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/programme/2026-12"))
    assert "cannot be shown just now" in text(soup, ".app-stats-unavailable")
    assert len(soup.select(".app-allocations tbody tr")) == 2


def test_a_month_not_drawn_is_page_not_found_and_a_bad_month_is_not_asked_for():
    fakes = FakeBackends({"audit.programme": ApiError(404, "no programme drawn for 2027-01")})
    with web(fakes) as client:
        sign_in(client, QA_LEAD)
        missing = client.get("/programme/2027-01")
        bad = client.get("/programme/2027-13")
    assert missing.status_code == 404
    assert bad.status_code == 400
    assert [call[1] for call in fakes.calls if call[0] == "audit.programme"] == [("2027-01",)]


def test_the_draw_form_works_without_javascript():
    """A plain form post: no script is needed to draw (the browser test runs it with none)."""
    with web(FakeBackends({"audit.programmes": []})) as client:
        sign_in(client, QA_LEAD)
        soup = page(client.get("/programme"))
    form = soup.select_one("form.app-form-draw")
    assert form["method"] == "post"
    assert form.select_one("button[type=submit], button:not([type])") is not None
    assert form.select_one("input[name=csrf_token]") is not None
