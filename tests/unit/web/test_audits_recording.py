"""Recording an audit in the browser: the form, its errors, check your answers, confirmation."""

from datetime import UTC, date, datetime

import pytest

from services.web.clients.api import ApiError
from services.web.forms import audit_form
from services.web.views import audits
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web

DOMAINS = (
    "assessment",
    "planning",
    "visits",
    "voice_of_child",
    "management_oversight",
    "recording",
)


NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _a_fixed_clock(monkeypatch):
    monkeypatch.setattr(audits, "now", lambda: NOW)


def stored_audit(**changes):
    audit = {
        "id": "AUD-0001",
        "case_id": "CASE-000123",
        "audit_kind": "learning",
        "reaudit_of": None,
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "area": "north",
        "practitioner_id": "S0006",
        "team_manager_id": "S0005",
        "auditor_id": "S0003",
        "overall_grade": "inadequate",
        "domain_grades": dict.fromkeys(DOMAINS, "inadequate") | {"assessment": "good"},
        "voice_of_child_evidenced": False,
        "voice_of_child_note": "Wishes and feelings not recorded",
        "could_be_better_if": ["Visits record what the child said"],
        "themes": ["visits"],
        "graded_at": "2026-11-25T12:00:00Z",
    }
    return audit | changes


def answers(token, **changes):
    form = {
        "csrf_token": token,
        "case_id": "case-000123",
        "audit_kind": "learning",
        "team_id": "EH-NORTH",
        "practitioner_id": "",
        **dict.fromkeys(DOMAINS, "inadequate"),
        "assessment": "good",
        "overall_grade": "inadequate",
        "voice_of_child_evidenced": "no",
        "voice_of_child_note": "Wishes and feelings not recorded",
        "could_be_better_if": ["Visits record what the child said", "", ""],
        "themes": ["visits", "voice_of_child"],
        "other_themes": "Smart plans",
        "graded_at-day": "25",
        "graded_at-month": "11",
        "graded_at-year": "2026",
        "action": "continue",
    }
    return form | changes


def fakes_recording(**answers_):
    submitted = {
        "audit.submit": lambda body, key: stored_audit(),
        "audit.audit": stored_audit(),
        "scheduler.followups": [],  # a re-audit's form asks for its follow-up's actions
    }
    return FakeBackends({"notifications.inbox": {"unread": 0, "items": []}} | submitted | answers_)


def on_check_page(client, **changes):
    posted = client.post("/audits/new", data=answers(csrf(client, "/audits/new"), **changes))
    assert posted.status_code == 303, page(posted).select(".govuk-error-summary")
    assert posted.headers["location"] == "/audits/new/check"


def submissions(fakes):
    return [(args[0], args[1]) for name, args, _ in fakes.calls if name == "audit.submit"]


def test_the_form_asks_for_every_answer_and_defaults_the_date_to_today():
    with web() as client:
        sign_in(client, "S0003")
        soup = page(client.get("/audits/new"))
    names = {field.get("name") for field in soup.select("main input, main select, main textarea")}
    assert {
        "case_id",
        "audit_kind",
        "reaudit_of",
        "team_id",
        "practitioner_id",
        *DOMAINS,
        "overall_grade",
        "voice_of_child_evidenced",
        "voice_of_child_note",
        "could_be_better_if",
        "themes",
        "graded_at-day",
        "graded_at-month",
        "graded_at-year",
    } <= names
    legends = [legend.get_text(strip=True) for legend in soup.select("legend")]
    assert {"Assessment", "Voice of the child", "Recording", "Overall grade"} <= set(legends)
    assert len(soup.select("input[name=could_be_better_if]")) == 3
    today = NOW.date()
    assert soup.select_one("#graded_at-year")["value"] == str(today.year)
    assert "Early help" in text(soup, "#team_id")
    assert "Smart plans" not in text(soup, "main")  # SMART plans, as the report writes it


def test_a_bad_submission_links_each_problem_to_its_field_and_keeps_the_answers():
    with web() as client:
        sign_in(client, "S0003")
        token = csrf(client, "/audits/new")
        bad = answers(token, case_id="123", audit_kind="reaudit", planning="")
        bad |= {"graded_at-day": "31", "graded_at-month": "2"}
        answer = client.post("/audits/new", data=bad)
    soup = page(answer)
    assert answer.status_code == 422
    assert soup.title.get_text().startswith("Error: ")
    links = {a["href"]: a.get_text(strip=True) for a in soup.select(".govuk-error-summary a")}
    assert links == {
        "#case_id": "Enter the case reference in the form CASE-000123",
        "#reaudit_of": "Enter the reference of the audit this re-audits",
        "#planning": "Select the grade for planning",
        "#graded_at-day": "The date graded must be a real date",
    }
    assert all(soup.select_one(href) is not None for href in links)
    assert "Enter the case reference in the form CASE-000123" in text(soup, "#case_id-error")
    assert soup.select_one("#case_id")["value"] == "123"
    assert soup.select_one("input[name=assessment][value=good]").has_attr("checked")
    assert soup.select_one("#could_be_better_if-1")["value"] == "Visits record what the child said"


def test_a_date_in_the_future_is_refused():
    tomorrow = date(2026, 11, 28)
    with web() as client:
        sign_in(client, "S0003")
        later = {
            "graded_at-day": str(tomorrow.day),
            "graded_at-month": str(tomorrow.month),
            "graded_at-year": str(tomorrow.year),
        }
        answer = client.post("/audits/new", data=answers(csrf(client, "/audits/new"), **later))
    assert "The date graded must be today or in the past" in text(
        page(answer), ".govuk-error-summary"
    )


def test_add_another_point_shows_one_more_box_and_keeps_what_was_typed():
    with web() as client:
        sign_in(client, "S0003")
        typed = answers(
            csrf(client, "/audits/new"),
            could_be_better_if=["First", "Second", "Third"],
            action="add_point",
        )
        answer = client.post("/audits/new", data=typed)
    soup = page(answer)
    assert answer.status_code == 200
    assert not soup.select(".govuk-error-summary")
    boxes = soup.select("input[name=could_be_better_if]")
    assert [box.get("value", "") for box in boxes] == ["First", "Second", "Third", ""]
    assert text(soup, "label[for=could_be_better_if-4]") == "Learning point 4"
    assert soup.select_one("#case_id")["value"] == "CASE-000123"


def test_check_your_answers_shows_what_was_entered_with_a_change_link_for_each():
    with web(fakes_recording()) as client:
        sign_in(client, "S0003")
        on_check_page(client)
        soup = page(client.get("/audits/new/check"))
        change = client.get("/audits/new?change=case_id")
    assert text(soup, "h1") == "Check your answers before recording the audit"
    rows = {
        text(row, ".govuk-summary-list__key"): text(row, ".govuk-summary-list__value")
        for row in soup.select(".govuk-summary-list__row")
    }
    assert rows["Case reference"] == "CASE-000123"
    assert rows["Team"] == "Early Help North"
    assert rows["Assessment"] == "Good"
    assert rows["Overall grade"] == "Inadequate"
    assert rows["Voice of the child evidenced"] == "No"
    assert rows["Could be better if"] == "Visits record what the child said"
    assert rows["Themes"] == "Visits, Voice of the child, SMART plans"
    assert rows["Date graded"] == "25 November 2026"
    hrefs = [a["href"] for a in soup.select(".govuk-summary-list__actions a")]
    assert "/audits/new?change=case_id#case_id" in hrefs
    assert "/audits/new?change=graded_at-day#graded_at-day" in hrefs
    assert len(hrefs) == len(rows)
    prefilled = page(change)
    assert prefilled.select_one("#case_id")["value"] == "CASE-000123"
    assert prefilled.select_one("input[name=overall_grade][value=inadequate]").has_attr("checked")
    assert prefilled.select_one("input[name=themes][value=visits]").has_attr("checked")


def test_recording_twice_sends_one_idempotency_key_and_ends_at_the_confirmation():
    fakes = fakes_recording()
    with web(fakes) as client:
        sign_in(client, "S0003")
        on_check_page(client)
        token = csrf(client, "/audits/new/check")
        first = client.post("/audits/new/check", data={"csrf_token": token})
        again = client.post("/audits/new/check", data={"csrf_token": token})
        confirmation = page(client.get(first.headers["location"]))
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == "/audits/AUD-0001/recorded"
    (body, key), (body_again, key_again) = submissions(fakes)
    assert key == key_again
    assert body == body_again
    assert body["auditor_id"] == "S0003"
    assert body["case_id"] == "CASE-000123"
    assert body["domain_grades"]["assessment"] == "good"
    assert body["voice_of_child"] == {
        "evidenced": False,
        "note": "Wishes and feelings not recorded",
    }
    assert body["could_be_better_if"] == ["Visits record what the child said"]
    assert body["themes"] == ["visits", "voice_of_child", "smart_plans"]
    assert body["graded_at"] == "2026-11-25T12:00:00Z"
    assert text(confirmation, ".govuk-panel__title") == "Audit recorded"
    assert text(confirmation, ".govuk-panel__body strong") == "AUD-0001"
    assert "AUD-0001" in text(confirmation, ".govuk-panel__body")
    assert "reflective conversation within 5 working days" in text(confirmation, "main")
    assert "may re-grade it" in text(confirmation, "main")


def test_going_back_and_sending_the_same_answers_again_makes_no_second_audit():
    fakes = fakes_recording()
    with web(fakes) as client:
        sign_in(client, "S0003")
        on_check_page(client)
        token = csrf(client, "/audits/new/check")
        client.post("/audits/new/check", data={"csrf_token": token})
        on_check_page(client)  # back to the form, the same answers sent again
        client.post("/audits/new/check", data={"csrf_token": token})
        on_check_page(client, case_id="CASE-000124")  # then another audit
        client.post("/audits/new/check", data={"csrf_token": token})
    keys = [key for _, key in submissions(fakes)]
    assert keys[0] == keys[1]
    assert keys[2] != keys[0]


def test_the_apis_field_errors_are_shown_against_their_fields():
    refused = ApiError(
        422,
        "Some answers need changing",
        {
            "team_id": "required: the case register does not know this case",
            "graded_at": "must not be in the future",
            "auditor_id": "S0003 is not eligible to audit",
        },
    )
    with web(fakes_recording(**{"audit.submit": refused})) as client:
        sign_in(client, "S0003")
        on_check_page(client, team_id="")
        answer = client.post("/audits/new/check", data={"csrf_token": csrf(client, "/audits/new")})
    soup = page(answer)
    assert answer.status_code == 422
    items = [
        (item.get_text(strip=True), item.a["href"] if item.a else None)
        for item in soup.select(".govuk-error-summary__list li")
    ]
    assert items == [
        ("You cannot record audits: auditors are trained, at team manager level or above", None),
        ("Select the team: the case management system does not know this case", "#team_id"),
        ("The date graded must be today or in the past", "#graded_at-day"),
    ]
    assert "does not know this case" in text(soup, "#team_id-error")
    assert soup.select_one("#case_id")["value"] == "CASE-000123"


def test_a_re_audit_starts_from_the_audit_it_re_audits():
    fakes = fakes_recording()
    with web(fakes) as client:
        sign_in(client, "S0003")
        soup = page(client.get("/audits/new?reaudit_of=AUD-0001"))
    assert soup.select_one("input[name=audit_kind][value=reaudit]").has_attr("checked")
    assert soup.select_one("#reaudit_of")["value"] == "AUD-0001"
    assert soup.select_one("#case_id")["value"] == "CASE-000123"
    assert soup.select_one("#team_id option[selected]")["value"] == "EH-NORTH"


def test_answers_too_long_for_the_session_are_refused_before_checking():
    with web() as client:
        sign_in(client, "S0003")
        long = answers(csrf(client, "/audits/new"), voice_of_child_note="x" * 1999)
        long["could_be_better_if"] = ["y" * 999, "z" * 999]
        answer = client.post("/audits/new", data=long)
    assert answer.status_code == 422
    assert page(answer).select_one(".govuk-error-summary a")["href"] == "#voice_of_child_note"


def test_graded_at_is_noon_uk_time_of_an_earlier_day_and_now_for_today():
    now = datetime(2026, 11, 25, 15, 30, 5, tzinfo=UTC)
    assert audit_form.graded_at(date(2026, 7, 1), now) == "2026-07-01T11:00:00Z"  # BST
    assert audit_form.graded_at(date(2026, 11, 2), now) == "2026-11-02T12:00:00Z"
    assert audit_form.graded_at(date(2026, 11, 25), now) == "2026-11-25T15:30:05Z"


def test_the_re_audit_and_independence_refusals_are_shown_in_words_of_their_own():
    refused = ApiError(
        422,
        "Some answers need changing",
        {
            "auditor_id": "you manage the team that holds this case: auditors audit other "
            "teams' work",
            "reaudit_of": "the reflective conversation on audit AUD-1 is not recorded yet: the "
            "re-audit can be recorded once the Head of Service has recorded it",
        },
    )
    with web(fakes_recording(**{"audit.submit": refused})) as client:
        sign_in(client, "S0003")
        on_check_page(client, audit_kind="reaudit", reaudit_of="AUD-1")
        answer = client.post("/audits/new/check", data={"csrf_token": csrf(client, "/audits/new")})
    items = [item.get_text(strip=True) for item in page(answer).select(".govuk-error-summary li")]
    assert items == [
        "You manage the team that holds this case: an auditor from another team records it",
        "The reflective conversation on that audit is not recorded yet: you can record the "
        "re-audit once the Head of Service has recorded it",
    ]
