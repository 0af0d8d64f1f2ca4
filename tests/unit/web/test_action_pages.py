"""Action pages: my actions, a case's, one action with its forms, overdue by team, the rates."""

from datetime import UTC, date, datetime

import pytest

from services.web import listing
from services.web.clients.api import ApiError
from services.web.views import action_page, actions
from shared.clock import FixedClock
from shared.organisation import load_organisation
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web

HEAD_OF_SERVICE, TEAM_MANAGER, PRACTITIONER, OTHER_PRACTITIONER = "S0003", "S0005", "S0006", "S0007"
OTHER_TEAM_MANAGER, ASSISTANT_DIRECTOR = "S0009", "S0001"


@pytest.fixture(autouse=True)
def wednesday_25_november(monkeypatch):
    monkeypatch.setattr(listing, "today", lambda: date(2026, 11, 25))


def action(**changes):
    return {
        "id": "ACT-1",
        "case_id": "CASE-101",
        "origin": "followup",
        "origin_id": "F-1",
        "audit_id": "A-1",
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "what": "Update the child's plan with SMART outcomes",
        "owner_id": PRACTITIONER,
        "due_on": "2026-11-27",
        "status": "open",
        "overdue": False,
        "evidence": [],
        "status_reason": None,
        "history": [{"at": "2026-11-18T10:00:00+00:00", "by": HEAD_OF_SERVICE, "what": "agreed"}],
        "agreed_at": "2026-11-18T10:00:00+00:00",
    } | changes


def rows(soup, selector="table.app-actions tbody tr"):
    return [
        [td.get_text(" ", strip=True) for td in tr.select("td")] for tr in soup.select(selector)
    ]


# --- lists --------------------------------------------------------------------------------


def test_your_actions_lists_what_you_own_with_the_working_days_left():
    fakes = FakeBackends(
        {
            "scheduler.actions": [
                action(),
                action(id="ACT-2", case_id="CASE-102", due_on="2026-11-23", overdue=True),
            ]
        }
    )
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        soup = page(client.get("/actions"))
    assert text(soup, "h1") == "Your actions"
    assert (
        "scheduler.actions",
        (),
        {"owner": PRACTITIONER, "status": "", "limit": 26, "offset": 0},
    ) in fakes.calls
    assert rows(soup)[0][:5] == [
        "CASE-101",
        "Update the child's plan with SMART outcomes",
        "Femi Fischer",
        "27 November 2026 (2 working days left)",
        "Open",
    ]
    assert rows(soup)[1][3:5] == ["23 November 2026 (late by 2 working days)", "Overdue"]
    assert soup.select_one("tbody a[href='/actions/ACT-2']") is not None


def test_the_overdue_filter_asks_for_overdue_actions_and_a_status_for_the_rest():
    fakes = FakeBackends({"scheduler.actions": []})
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        overdue = page(client.get("/actions?status=overdue"))
        client.get("/actions?status=not_achieved")
    asked = [call[2] for call in fakes.calls if call[0] == "scheduler.actions"]
    assert asked[0] == {"owner": PRACTITIONER, "overdue": True, "limit": 26, "offset": 0}
    assert asked[1]["status"] == "not_achieved"
    assert overdue.select_one("#status option[selected]")["value"] == "overdue"
    assert "No actions match." in text(overdue, "main")


def test_an_unknown_status_is_not_sent_to_the_api():
    fakes = FakeBackends({"scheduler.actions": []})
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        answer = client.get("/actions?status=lost")
    assert answer.status_code == 400
    assert not any(call[0] == "scheduler.actions" for call in fakes.calls)


def test_a_long_list_of_actions_is_paged_through_the_api():
    many = [action(id=f"ACT-{n}") for n in range(30)]
    fakes = FakeBackends(
        {"scheduler.actions": lambda limit, offset, **_: many[offset : offset + limit]}
    )
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        second = page(client.get("/actions?page=2"))
    assert [a["href"] for a in second.select("tbody a")] == [
        f"/actions/ACT-{n}" for n in range(25, 30)
    ]
    assert second.select_one(".govuk-pagination__prev a")["href"] == "/actions?status=&page=1"


def test_a_cases_actions_are_asked_for_by_its_reference():
    fakes = FakeBackends({"scheduler.actions": [action()]})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/cases/CASE-101/actions"))
        bad = client.get("/cases/not-a-case/actions")
    assert text(soup, "h1") == "Actions for case CASE-101"
    assert fakes.calls[-1][2]["case_id"] == "CASE-101"
    assert bad.status_code == 400


def test_overdue_actions_are_grouped_by_service_area_then_team_in_tables_of_their_own():
    found = [
        action(id="ACT-1", overdue=True, due_on="2026-11-20"),
        action(id="ACT-2", team_id="EH-SOUTH", owner_id="S0010", overdue=True, due_on="2026-11-19"),
        action(id="ACT-3", overdue=True, due_on="2026-11-16"),
        action(
            id="ACT-4",
            service_area="assessment_intervention",
            team_id="AI-NORTH",
            overdue=True,
            due_on="2026-11-24",
        ),
    ]
    fakes = FakeBackends({"scheduler.actions": found})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/actions/overdue?service_area=early_help"))
    assert fakes.calls[-1][2] == {
        "overdue": True,
        "service_area": "early_help",
        "limit": 100,
        "offset": 0,
    }
    headings = [h.get_text(strip=True) for h in soup.select("main h2, main h3")]
    assert headings == [
        "Assessment and intervention",
        "Assessment and Intervention North: 1 overdue",
        "Early help",
        "Early Help North: 2 overdue",
        "Early Help South: 1 overdue",
    ]
    north = soup.select("table.app-actions")[1]
    assert [a["href"] for a in north.select("a")] == ["/actions/ACT-3", "/actions/ACT-1"]


def test_every_page_of_overdue_actions_is_fetched():
    many = [action(id=f"ACT-{n}", overdue=True) for n in range(130)]
    fakes = FakeBackends(
        {"scheduler.actions": lambda limit, offset, **_: many[offset : offset + limit]}
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/actions/overdue"))
    assert len(soup.select("table.app-actions tbody tr")) == 130
    assert [c[2]["offset"] for c in fakes.calls if c[0] == "scheduler.actions"] == [0, 100]


# --- who is offered which form ------------------------------------------------------------


ORGANISATION = load_organisation()


@pytest.mark.parametrize(
    ("person", "status", "offered"),
    [
        (PRACTITIONER, "open", {"mark_done", "add_evidence"}),
        (TEAM_MANAGER, "open", {"add_evidence", "change", "cancel"}),
        (HEAD_OF_SERVICE, "open", {"add_evidence", "change", "cancel"}),
        (OTHER_PRACTITIONER, "open", set()),
        (OTHER_TEAM_MANAGER, "open", set()),
        (PRACTITIONER, "done", {"add_evidence"}),
        (TEAM_MANAGER, "done", {"add_evidence", "cancel"}),
        (TEAM_MANAGER, "cancelled", {"reopen"}),
        (PRACTITIONER, "cancelled", set()),
        (HEAD_OF_SERVICE, "verified", set()),
        (TEAM_MANAGER, "not_achieved", set()),
    ],
)
def test_only_the_owner_marks_done_and_only_their_managers_change_cancel_or_reopen(
    person, status, offered
):
    shown = actions.offered(ORGANISATION, action(status=status), person)
    assert {name for name, yes in vars(shown).items() if yes} == offered


def test_a_team_managers_own_action_is_managed_by_the_head_of_service_and_theirs_by_the_ad():
    assert actions.managers_of(ORGANISATION, action(owner_id=TEAM_MANAGER)) == {HEAD_OF_SERVICE}
    assert actions.managers_of(ORGANISATION, action(owner_id=HEAD_OF_SERVICE)) == {
        HEAD_OF_SERVICE,
        ASSISTANT_DIRECTOR,
    }
    own = actions.offered(ORGANISATION, action(owner_id=TEAM_MANAGER), TEAM_MANAGER)
    assert (own.mark_done, own.change) == (True, False)


def test_an_owner_is_chosen_from_the_head_of_service_the_team_manager_and_the_team():
    people = [m.id for m in actions.owner_choices(ORGANISATION, "early_help", "EH-NORTH")]
    assert people[:2] == [HEAD_OF_SERVICE, TEAM_MANAGER]
    assert {PRACTITIONER, OTHER_PRACTITIONER} <= set(people)
    assert "S0010" not in people  # a practitioner of another team
    elsewhere = actions.owner_choices(ORGANISATION, "early_help", "EH-NORTH", current="S0010")
    assert elsewhere[0].id == "S0010"  # the current owner, moved from another team, still shown


# --- one action ---------------------------------------------------------------------------


def test_an_action_shows_what_owner_due_status_evidence_and_history():
    done = action(
        status="done",
        evidence=[
            {
                "note": "Plan rewritten with outcomes",
                "by": PRACTITIONER,
                "at": "2026-11-24T09:00:00Z",
            }
        ],
        history=[
            {"at": "2026-11-18T10:00:00+00:00", "by": HEAD_OF_SERVICE, "what": "agreed"},
            {"at": "2026-11-24T09:00:00+00:00", "by": PRACTITIONER, "what": "done"},
        ],
    )
    with web(FakeBackends({"scheduler.action": done})) as client:
        sign_in(client, TEAM_MANAGER)
        soup = page(client.get("/actions/ACT-1"))
    assert text(soup, "h1") == "Action for case CASE-101"
    assert text(soup, ".app-action-what") == "Update the child's plan with SMART outcomes"
    summary = text(soup, ".govuk-summary-list")
    assert "Status Done" in summary
    assert "Owner Femi Fischer" in summary
    assert "Due 27 November 2026" in summary
    assert "working days" not in summary
    assert soup.select_one(".govuk-summary-list a[href='/followups/F-1']") is not None
    assert text(soup, ".app-evidence") == (
        "Plan rewritten with outcomes Femi Fischer, 24 November 2026 at 09:00"
    )
    assert rows(soup, ".app-history tbody tr")[1] == [
        "24 November 2026 at 09:00",
        "Femi Fischer",
        "Marked as done",
    ]
    assert soup.select_one(".app-form-done") is None
    assert soup.select_one(".app-form-change") is None
    assert soup.select_one(".app-form-evidence") is not None


def test_history_lines_read_as_words_with_names_and_dates():
    def words(what):
        return action_page.history_words(
            what, {"S0006": "Femi Fischer", "S0007": "Grace Gallagher", "S0005": "Ellen Evans"}.get
        )

    assert words("owner: S0006 to S0007") == "Owner changed from Femi Fischer to Grace Gallagher"
    assert words("due date: 2026-11-27 to 2026-12-04") == (
        "Due date changed from 27 November 2026 to 4 December 2026"
    )
    assert words("overdue: escalated to S0005") == "Overdue: Ellen Evans was told"
    assert words("reminder: due today") == "Reminder sent: due today"
    assert words("evidence added") == "Evidence added"
    assert words("not achieved") == "Not achieved at re-audit: it made no difference"


def test_the_services_own_history_lines_name_the_service():
    reminded = action(
        history=[
            {"at": "2026-11-25T07:00:00+00:00", "by": "scheduler", "what": "reminder: due today"}
        ]
    )
    with web(FakeBackends({"scheduler.action": reminded})) as client:
        sign_in(client, PRACTITIONER)
        soup = page(client.get("/actions/ACT-1"))
    assert rows(soup, ".app-history tbody tr") == [
        ["25 November 2026 at 07:00", "The service", "Reminder sent: due today"]
    ]


def test_the_owner_gets_the_done_and_evidence_forms_and_no_manager_forms():
    with web(FakeBackends({"scheduler.action": action()})) as client:
        sign_in(client, PRACTITIONER)
        soup = page(client.get("/actions/ACT-1"))
    forms = [f["class"][0] for f in soup.select("main form[action='/actions/ACT-1']")]
    assert forms == ["app-form-done", "app-form-evidence"]
    request_ids = {i["value"] for i in soup.select("input[name=request_id]")}
    assert len(request_ids) == 1
    assert len(request_ids.pop()) >= 8


def test_a_manager_can_change_the_owner_among_the_teams_people_and_the_due_date():
    with web(FakeBackends({"scheduler.action": action()})) as client:
        sign_in(client, TEAM_MANAGER)
        soup = page(client.get("/actions/ACT-1"))
    change = soup.select_one(".app-form-change")
    assert change.select_one("#owner_id option[selected]")["value"] == PRACTITIONER
    assert [i["value"] for i in change.select(".govuk-date-input input")] == ["27", "11", "2026"]
    assert soup.select_one(".app-form-cancel textarea#reason") is not None
    assert soup.select_one(".app-form-done") is None


def posted(client, form, **fields):
    data = {"csrf_token": csrf(client, "/actions/ACT-1"), "form": form, "request_id": "web-req-1"}
    return client.post("/actions/ACT-1", data=data | fields)


def test_marking_done_sends_the_evidence_and_shows_a_banner():
    fakes = FakeBackends({"scheduler.action": action(), "scheduler.update_action": action()})
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        answer = posted(client, "done", evidence="  Plan rewritten  ")
        shown = page(client.get(answer.headers["location"]))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/actions/ACT-1?updated=done"
    body = {
        "changed_by": PRACTITIONER,
        "request_id": "web-req-1",
        "confirmed": [],
        "status": "done",
        "evidence": "Plan rewritten",
    }
    assert ("scheduler.update_action", ("ACT-1", body), {}) in fakes.calls
    assert text(shown, ".govuk-notification-banner").endswith("Action marked as done")


@pytest.mark.parametrize(
    ("form", "fields", "href", "message"),
    [
        ("done", {"evidence": " "}, "#done_evidence", "Enter what was done, as evidence"),
        ("evidence", {"evidence": ""}, "#evidence", "Enter the evidence to add"),
        (
            "evidence",
            {"evidence": "x" * 501},
            "#evidence",
            "Evidence must be 500 characters or fewer",
        ),
        ("cancel", {"reason": ""}, "#reason", "Enter why the action is cancelled"),
        (
            "change",
            {
                "owner_id": PRACTITIONER,
                "due_on-day": "27",
                "due_on-month": "11",
                "due_on-year": "2026",
            },
            "#owner_id",
            "Choose another owner or another due date",
        ),
        (
            "change",
            {
                "owner_id": PRACTITIONER,
                "due_on-day": "31",
                "due_on-month": "11",
                "due_on-year": "2026",
            },
            "#due_on-day",
            "The due date must be a real date",
        ),
        (
            "change",
            {
                "owner_id": PRACTITIONER,
                "due_on-day": "24",
                "due_on-month": "11",
                "due_on-year": "2026",
            },
            "#due_on-day",
            "The due date must be today or in the future",
        ),
        (
            "change",
            {
                "owner_id": PRACTITIONER,
                "due_on-day": "28",
                "due_on-month": "12",
                "due_on-year": "2026",
            },
            "#due_on-day",
            "The due date must be a working day, not a weekend or bank holiday",
        ),
        ("change", {"owner_id": PRACTITIONER}, "#due_on-day", "Enter the due date"),
    ],
)
def test_each_form_is_checked_before_anything_is_sent(form, fields, href, message):
    fakes = FakeBackends({"scheduler.action": action()})
    with web(fakes) as client:
        sign_in(client, TEAM_MANAGER if form in ("change", "cancel") else PRACTITIONER)
        answer = posted(client, form, **fields)
    soup = page(answer)
    assert answer.status_code == 422
    links = [
        (a.get_text(strip=True), a["href"]) for a in soup.select(".govuk-error-summary__list a")
    ]
    assert links == [(message, href)]
    assert soup.select_one(href) is not None
    assert not any(call[0] == "scheduler.update_action" for call in fakes.calls)


def test_an_overdue_actions_owner_can_change_without_moving_its_passed_due_date():
    late = action(due_on="2026-11-20", overdue=True)
    fakes = FakeBackends({"scheduler.action": late, "scheduler.update_action": late})
    with web(fakes) as client:
        sign_in(client, TEAM_MANAGER)
        answer = posted(
            client,
            "change",
            owner_id=OTHER_PRACTITIONER,
            **{"due_on-day": "20", "due_on-month": "11", "due_on-year": "2026"},
        )
    assert answer.status_code == 303
    [(_, (_, body), _)] = [c for c in fakes.calls if c[0] == "scheduler.update_action"]
    assert (body["owner_id"], "due_on" in body) == (OTHER_PRACTITIONER, False)


def test_changing_the_due_date_alone_sends_only_the_due_date():
    fakes = FakeBackends({"scheduler.action": action(), "scheduler.update_action": action()})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        posted(
            client,
            "change",
            owner_id=PRACTITIONER,
            **{"due_on-day": "4", "due_on-month": "12", "due_on-year": "2026"},
        )
    [(_, (_, body), _)] = [c for c in fakes.calls if c[0] == "scheduler.update_action"]
    assert (body["due_on"], "owner_id" in body) == ("2026-12-04", False)


def test_cancelling_sends_the_reason():
    fakes = FakeBackends({"scheduler.action": action(), "scheduler.update_action": action()})
    with web(fakes) as client:
        sign_in(client, TEAM_MANAGER)
        answer = posted(client, "cancel", reason="Case closed to the service")
    [(_, (_, body), _)] = [c for c in fakes.calls if c[0] == "scheduler.update_action"]
    assert (body["status"], body["reason"]) == ("cancelled", "Case closed to the service")
    assert answer.headers["location"] == "/actions/ACT-1?updated=cancel"


def test_a_manager_reopens_a_cancelled_action():
    cancelled = action(status="cancelled", status_reason="Case closed")
    fakes = FakeBackends({"scheduler.action": cancelled, "scheduler.update_action": action()})
    with web(fakes) as client:
        sign_in(client, TEAM_MANAGER)
        soup = page(client.get("/actions/ACT-1"))
        answer = posted(client, "reopen")
    assert "Reason Case closed" in text(soup, ".govuk-summary-list")
    assert soup.select_one(".app-form-reopen") is not None
    [(_, (_, body), _)] = [c for c in fakes.calls if c[0] == "scheduler.update_action"]
    assert body["status"] == "open"
    assert answer.headers["location"] == "/actions/ACT-1?updated=reopen"


def test_the_wrong_person_is_told_in_an_error_summary_not_an_error_page():
    refused = ApiError(403, "only the owner marks an action done")
    fakes = FakeBackends({"scheduler.action": action(), "scheduler.update_action": refused})
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        answer = posted(client, "done", evidence="Plan rewritten")
    soup = page(answer)
    assert answer.status_code == 403
    assert text(soup, ".govuk-error-summary__list") == "Only the owner marks an action done"
    assert soup.select_one(".app-form-done textarea").get_text().strip() == "Plan rewritten"


def test_a_broken_rule_is_shown_at_its_field():
    refused = ApiError(
        422, "Some answers need changing", {"reason": "a cancellation needs a reason"}
    )
    fakes = FakeBackends({"scheduler.action": action(), "scheduler.update_action": refused})
    with web(fakes) as client:
        sign_in(client, TEAM_MANAGER)
        answer = posted(client, "cancel", reason="?")
    link = page(answer).select_one(".govuk-error-summary__list a")
    assert (link.get_text(strip=True), link["href"]) == (
        "Reason: a cancellation needs a reason",
        "#reason",
    )


def personal_data_warning():
    message = "this looks like it holds a person's name: write about practice"
    return ApiError(
        422,
        "Some answers need changing",
        {"evidence": message},
        confirmations={"evidence": message},
        codes={"evidence": "personal_data"},
    )


def test_evidence_that_looks_like_personal_data_is_kept_only_once_confirmed():
    fakes = FakeBackends(
        {"scheduler.action": action(), "scheduler.update_action": personal_data_warning()}
    )
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        warned = page(posted(client, "evidence", evidence="Met Sam at home"))
        fakes.answers["scheduler.update_action"] = action()
        kept = posted(client, "evidence", evidence="Met Sam at home", confirmed=["personal_data"])
    assert "Evidence: this looks like it holds a person's name" in text(
        warned, ".govuk-error-summary__list"
    )
    form = warned.select_one(".app-form-evidence")
    assert form.select_one("input[name=confirmed][value=personal_data]") is not None
    assert form.select_one("textarea").get_text().strip() == "Met Sam at home"
    assert form.select_one("input[name=request_id]")["value"] == "web-req-1"
    assert warned.select_one(".app-form-done input[name=confirmed]") is None
    assert kept.status_code == 303
    last = [c for c in fakes.calls if c[0] == "scheduler.update_action"][-1]
    assert last[1][1]["confirmed"] == ["personal_data"]


def test_the_action_forms_need_the_csrf_token():
    fakes = FakeBackends({"scheduler.action": action()})
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        answer = client.post(
            "/actions/ACT-1", data={"csrf_token": "forged", "form": "done", "evidence": "x"}
        )
    assert answer.status_code == 403
    assert not any(call[0] == "scheduler.update_action" for call in fakes.calls)


def test_an_action_the_person_may_not_see_is_the_apis_403_page():
    fakes = FakeBackends({"scheduler.action": ApiError(403, "not yours")})
    with web(fakes) as client:
        sign_in(client, OTHER_PRACTITIONER)
        answer = client.get("/actions/ACT-1")
    assert answer.status_code == 403
    assert text(page(answer), "h1") == "You cannot see this"


# --- rates --------------------------------------------------------------------------------


def rate_row(month, **changes):
    return {
        "month": month,
        "service_area": "early_help",
        "agreed": 4,
        "done_on_time": 3,
        "done_late": 1,
        "verified": 2,
        "not_achieved": 1,
        "open": 0,
        "overdue": 0,
        "completion_rate": 0.75,
        "verification_rate": 2 / 3,
    } | changes


def test_the_rates_page_has_a_table_per_month_and_an_accessible_chart():
    answer = [
        rate_row("2026-10"),
        rate_row("2026-11", agreed=0, done_on_time=0, completion_rate=None),
    ]
    fakes = FakeBackends({"scheduler.action_stats": answer})
    with web(fakes) as client:
        client.app.state.clock = FixedClock(datetime(2026, 11, 25, 10, tzinfo=UTC))
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/actions/rates?from_month=2026-09&to_month=2026-11"))
    assert ("scheduler.action_stats", ("2026-09", "2026-11"), {}) in fakes.calls
    table = [
        [cell.get_text(" ", strip=True) for cell in tr.select("th, td")]
        for tr in soup.select(".app-action-rates tbody tr")
    ]
    assert table[0] == ["September 2026", "No actions"]
    assert table[1] == [
        "October 2026",
        "Early help",
        "4",
        "3",
        "1",
        "2",
        "1",
        "0",
        "0",
        "75%",
        "66.7%",
    ]
    assert (table[2][3], table[2][9]) == ("0", "none due")
    chart = soup.select_one(".app-chart svg")
    assert chart["role"] == "img"
    assert "the share done (on time or late)" in chart.select_one("desc").get_text()


def test_a_month_not_offered_is_an_error_and_the_api_is_not_asked():
    fakes = FakeBackends({"scheduler.action_stats": []})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.get("/actions/rates?from_month=1999-01")
    assert answer.status_code == 422
    assert "Choose a start month from the list" in text(page(answer), ".govuk-error-summary")
    assert not any(call[0] == "scheduler.action_stats" for call in fakes.calls)


def test_the_navigation_offers_actions():
    with web(FakeBackends({"scheduler.actions": []})) as client:
        sign_in(client, PRACTITIONER)
        soup = page(client.get("/actions"))
    active = soup.select_one(".govuk-service-navigation__item--active a")
    assert (active.get_text(strip=True), active["href"]) == ("Actions", "/actions")


def ids_used_twice(soup):
    ids = [tag["id"] for tag in soup.select("[id]")]
    return {i for i in ids if ids.count(i) > 1}


def test_every_form_of_an_action_page_has_fields_of_their_own():
    with web(FakeBackends({"scheduler.action": action(owner_id=HEAD_OF_SERVICE)})) as client:
        sign_in(client, HEAD_OF_SERVICE)  # the owner and a manager: every form at once
        soup = page(client.get("/actions/ACT-1"))
    assert len(soup.select("main form")) == 4
    assert ids_used_twice(soup) == set()
