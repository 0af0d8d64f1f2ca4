"""Moderation pages: the queue, recording a grade once, and sampling rates."""

from services.web.clients.api import ApiError
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web

MODERATOR, OTHER_MODERATOR, ASSISTANT_DIRECTOR, PRACTITIONER = "S0004", "S0018", "S0001", "S0006"


def moderation(**changes):
    return {
        "id": "M-1",
        "audit_id": "A-9",
        "case_id": "CASE-301",
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "auditor_id": "S0005",
        "moderator_id": MODERATOR,
        "reason": "inadequate",
        "auditor_grade": "inadequate",
        "status": "open",
        "requested_at": "2026-11-24T09:00:00+00:00",
        "moderated_grade": None,
        "grade_difference": None,
        "rationale": None,
        "moderated_at": None,
    } | changes


def rows(soup):
    return [
        [td.get_text(" ", strip=True) for td in tr.select("td")] for tr in soup.select("tbody tr")
    ]


def test_the_queue_asks_for_the_persons_open_moderations_first_and_shows_them_so():
    fakes = FakeBackends(
        {
            "moderation.moderations": [  # in the API's order (services/moderation/queries.py)
                moderation(requested_at="2026-11-25T09:00:00+00:00", reason="sampled"),
                moderation(id="M-2", case_id="CASE-302", moderator_id=OTHER_MODERATOR),
                moderation(id="M-3", case_id="CASE-303", status="completed"),
            ]
        }
    )
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        soup = page(client.get("/moderations"))
    assert text(soup, "h1") == "Moderation"
    asked = {"status": "", "first_for": MODERATOR, "limit": 26, "offset": 0}
    assert ("moderation.moderations", (), asked) in fakes.calls
    listed = rows(soup)
    assert [r[0] for r in listed] == ["CASE-301", "CASE-302", "CASE-303"]
    assert listed[0][:6] == [
        "CASE-301",
        "A-9",
        "Inadequate",
        "Sampled at random",
        "25 November 2026 at 09:00",
        "Yours to do",
    ]
    assert soup.select_one("tbody a[href='/moderations/M-1']") is not None
    assert soup.select_one("tbody a[href='/audits/A-9']") is not None


def test_the_queue_filters_by_status():
    fakes = FakeBackends({"moderation.moderations": []})
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        soup = page(client.get("/moderations?status=completed"))
    asked = {"status": "completed", "first_for": MODERATOR, "limit": 26, "offset": 0}
    assert ("moderation.moderations", (), asked) in fakes.calls
    assert soup.select_one("input[name=status][value=completed]").has_attr("checked")
    assert "Nothing waiting." in text(soup, "main")


def test_the_assigned_moderator_sees_the_record_a_grade_form_with_csrf_and_a_request_id():
    fakes = FakeBackends({"moderation.moderation": moderation()})
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        soup = page(client.get("/moderations/M-1"))
    assert text(soup, "h1") == "Moderation of case CASE-301"
    assert "Auditor's grade Inadequate" in text(soup, ".govuk-summary-list")
    assert soup.select_one(".govuk-summary-list a[href='/audits/A-9']") is not None
    form = soup.select_one("form[action='/moderations/M-1']")
    assert form.select_one("input[name=csrf_token]")["value"]
    assert len(form.select_one("input[name=request_id]")["value"]) >= 8
    grades = [i["value"] for i in form.select("input[name=moderated_grade]")]
    assert grades == ["outstanding", "good", "requires_improvement", "inadequate"]
    assert text(form, "#rationale-hint") == "Required when your grade differs from the auditor's."


def test_nobody_else_gets_the_form_and_a_completed_moderation_shows_its_outcome():
    done = moderation(
        status="completed",
        moderated_grade="requires_improvement",
        rationale="Plan was reviewed",
        moderated_at="2026-11-25T10:00:00+00:00",
    )
    with web(FakeBackends({"moderation.moderation": moderation()})) as client:
        sign_in(client, OTHER_MODERATOR)
        assert (
            page(client.get("/moderations/M-1")).select_one("form[action^='/moderations']") is None
        )
    with web(FakeBackends({"moderation.moderation": done})) as client:
        sign_in(client, MODERATOR)
        soup = page(client.get("/moderations/M-1"))
    assert soup.select_one("form[action^='/moderations']") is None
    summary = text(soup, ".govuk-summary-list")
    assert "Moderated grade Requires improvement" in summary
    assert "Rationale Plan was reviewed" in summary


def form_of(client, path):
    soup = page(client.get(path))
    return {
        "csrf_token": soup.select_one("input[name=csrf_token]")["value"],
        "request_id": soup.select_one("input[name=request_id]")["value"],
    }


def test_recording_a_grade_sends_it_once_and_redirects_to_a_banner():
    fakes = FakeBackends({"moderation.moderation": moderation(), "moderation.record": {}})
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        sent = form_of(client, "/moderations/M-1") | {"moderated_grade": "good", "rationale": ""}
        first = client.post("/moderations/M-1", data=sent)
        second = client.post("/moderations/M-1", data=sent)  # a double click
        shown = page(client.get(first.headers["location"]))
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == "/moderations/M-1?recorded=1"
    recorded = [args for name, args, _ in fakes.calls if name == "moderation.record"]
    body = {
        "moderator_id": MODERATOR,
        "moderated_grade": "good",
        "rationale": None,
        "request_id": sent["request_id"],
        "confirmed": [],
    }
    assert recorded == [("M-1", body), ("M-1", body)]  # one request id: the API replays it
    assert text(shown, ".govuk-notification-banner").endswith("Moderation recorded")


def test_each_view_of_the_form_has_its_own_request_id():
    with web(FakeBackends({"moderation.moderation": moderation()})) as client:
        sign_in(client, MODERATOR)
        ids = {form_of(client, "/moderations/M-1")["request_id"] for _ in range(2)}
    assert len(ids) == 2


def test_no_grade_chosen_is_an_error_linked_to_the_radios():
    fakes = FakeBackends({"moderation.moderation": moderation()})
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        answer = client.post("/moderations/M-1", data=form_of(client, "/moderations/M-1"))
    soup = page(answer)
    assert answer.status_code == 422
    assert soup.title.get_text().startswith("Error: ")
    link = soup.select_one(".govuk-error-summary__list a")
    assert (link.get_text(strip=True), link["href"]) == (
        "Select the moderated grade",
        "#moderated_grade",
    )
    assert soup.select_one("#moderated_grade") is not None
    assert not any(name == "moderation.record" for name, _, _ in fakes.calls)


def test_the_apis_rationale_error_is_shown_at_the_field_and_the_answers_kept():
    refused = ApiError(
        422,
        "Some answers need changing",
        {"rationale": "required when the grade differs from the auditor's"},
    )
    fakes = FakeBackends({"moderation.moderation": moderation(), "moderation.record": refused})
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        sent = form_of(client, "/moderations/M-1") | {"moderated_grade": "good"}
        soup = page(client.post("/moderations/M-1", data=sent))
    link = soup.select_one(".govuk-error-summary__list a")
    assert link["href"] == "#rationale"
    assert (
        link.get_text(strip=True) == "Rationale: required when the grade differs from the auditor's"
    )
    assert "required when the grade differs" in text(soup, "#rationale-error")
    assert soup.select_one("input[name=moderated_grade][value=good]").has_attr("checked")
    assert soup.select_one("input[name=request_id]")["value"] == sent["request_id"]


def test_an_already_moderated_moderation_is_shown_as_an_error_on_the_page():
    done = moderation(
        status="completed", moderated_grade="good", moderated_at="2026-11-25T10:00:00+00:00"
    )
    fakes = FakeBackends(
        {
            "moderation.moderation": done,
            "moderation.record": ApiError(409, "already moderated by another request"),
        }
    )
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        token = csrf(client, "/moderations/M-1")
        answer = client.post(
            "/moderations/M-1",
            data={"csrf_token": token, "request_id": "a-request-1", "moderated_grade": "good"},
        )
    assert answer.status_code == 409
    assert "This moderation has already been recorded" in text(page(answer), ".govuk-error-summary")


def test_posting_a_grade_without_the_csrf_token_is_refused():
    fakes = FakeBackends({"moderation.moderation": moderation()})
    with web(fakes) as client:
        sign_in(client, MODERATOR)
        answer = client.post(
            "/moderations/M-1", data={"request_id": "a-request-1", "moderated_grade": "good"}
        )
    assert answer.status_code == 403
    assert not any(name == "moderation.record" for name, _, _ in fakes.calls)


RATES = {"early_help": 0.25, "care_leavers": 0.125}


def test_an_assistant_director_gets_a_form_per_area_with_its_rate_as_a_percentage():
    with web(FakeBackends({"moderation.rates": RATES})) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        soup = page(client.get("/sampling"))
    assert text(soup, "h1") == "Sampling rates"
    forms = soup.select("form[action='/sampling']")
    assert len(forms) == 2
    assert all(f.select_one("input[name=csrf_token]")["value"] for f in forms)
    assert soup.select_one("#rate-early_help")["value"] == "25"
    assert soup.select_one("#rate-care_leavers")["value"] == "12.5"


def test_others_see_the_rates_read_only():
    with web(FakeBackends({"moderation.rates": RATES})) as client:
        sign_in(client, PRACTITIONER)
        soup = page(client.get("/sampling"))
    assert soup.select_one("form[action='/sampling']") is None
    assert rows(soup) == [["25%"], ["12.5%"]]
    assert [th.get_text(strip=True) for th in soup.select("tbody th")] == [
        "Early help",
        "Care leavers",
    ]


def test_changing_a_rate_sends_it_as_a_fraction_and_shows_a_banner():
    fakes = FakeBackends({"moderation.rates": RATES, "moderation.set_rate": RATES})
    with web(fakes) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        token = csrf(client, "/sampling")
        answer = client.post(
            "/sampling", data={"csrf_token": token, "service_area": "early_help", "rate": "40"}
        )
        shown = page(client.get(answer.headers["location"]))
    assert answer.status_code == 303
    assert ("moderation.set_rate", ("early_help", 0.4, ASSISTANT_DIRECTOR), {}) in fakes.calls
    assert "Sample rate for Early help changed to 25%" in text(shown, ".govuk-notification-banner")


def test_a_rate_that_is_not_a_percentage_is_an_error_linked_to_its_field():
    fakes = FakeBackends({"moderation.rates": RATES})
    with web(fakes) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        token = csrf(client, "/sampling")
        answer = client.post(
            "/sampling", data={"csrf_token": token, "service_area": "care_leavers", "rate": "150"}
        )
    soup = page(answer)
    assert answer.status_code == 422
    assert soup.select_one(".govuk-error-summary__list a")["href"] == "#rate-care_leavers"
    assert soup.select_one("#rate-care_leavers")["value"] == "150"
    assert not any(name == "moderation.set_rate" for name, _, _ in fakes.calls)


def test_the_apis_refusal_of_a_rate_change_is_shown_as_an_error():
    refused = ApiError(403, "only assistant directors and admins change sample rates")
    fakes = FakeBackends({"moderation.rates": RATES, "moderation.set_rate": refused})
    with web(fakes) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        token = csrf(client, "/sampling")
        answer = client.post(
            "/sampling", data={"csrf_token": token, "service_area": "early_help", "rate": "10"}
        )
    assert "You cannot change the sample rate of Early help" in text(
        page(answer), ".govuk-error-summary"
    )
