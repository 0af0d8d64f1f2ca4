"""An audit's page (what email links open), the list of audits, and what every audit page keeps."""

from datetime import UTC, datetime

import pytest

from services.web.clients.api import ApiError
from services.web.views import audits
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web
from tests.unit.web.test_audits_recording import answers, stored_audit

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _a_fixed_clock(monkeypatch):
    monkeypatch.setattr(audits, "now", lambda: NOW)


def moderation(**changes):
    found = {
        "id": "MOD-0001",
        "audit_id": "AUD-0001",
        "case_id": "CASE-000123",
        "moderator_id": "S0004",
        "auditor_grade": "inadequate",
        "status": "completed",
        "moderated_grade": "requires_improvement",
        "rationale": "Risk was managed; planning needs work",
        "moderated_at": "2026-11-26T10:00:00Z",
    }
    return found | changes


def followup(**changes):
    found = {
        "id": "FU-0001",
        "audit_id": "AUD-0001",
        "status": "open",
        "overdue": True,
        "step": "reflective_conversation",
        "owner_id": "S0003",
        "due_on": "2026-12-02",
        "outcome": None,
        "cancelled_reason": None,
    }
    return found | changes


def audit_fakes(**answers_):
    return FakeBackends(
        {
            "audit.audit": stored_audit(),
            "moderation.moderations": [moderation(), moderation(id="MOD-9", audit_id="AUD-9")],
            "scheduler.followups": [followup()],
        }
        | answers_
    )


def audit_page(fakes, path="/audits/AUD-0001"):
    with web(fakes) as client:
        sign_in(client, "S0006")
        answer = client.get(path)
    return answer, page(answer)


def test_an_audit_shows_its_people_grades_and_learning():
    answer, soup = audit_page(audit_fakes())
    assert answer.status_code == 200
    assert text(soup, "h1") == "Learning audit CASE-000123"
    rows = {
        text(row, ".govuk-summary-list__key"): text(row, ".govuk-summary-list__value")
        for row in soup.select("main > div > div > dl.govuk-summary-list .govuk-summary-list__row")
    }
    assert rows["Auditor"] == "Chloe Carter"
    assert rows["Practitioner"] == "Femi Fischer"
    assert rows["Team manager"] == "Ellen Evans"
    assert rows["Team"].startswith("Early Help North")
    assert rows["Date graded"] == "25 November 2026 at 12:00"
    assert text(soup, ".govuk-summary-list .govuk-tag") == "Inadequate"
    grades = {
        text(row, "th"): text(row, "td") for row in soup.select("table tbody .govuk-table__row")
    }
    assert grades["Assessment"] == "Good"
    assert grades["Voice of the child"] == "Inadequate"
    assert len(grades) == 6
    assert text(soup, "#voice-of-child") == "Not evidenced: Wishes and feelings not recorded"
    assert text(soup, "#learning-points") == "Visits record what the child said"
    assert text(soup, "#themes") == "Visits"


def test_an_audit_shows_its_moderation_and_follow_up_with_links():
    fakes = audit_fakes()
    _, soup = audit_page(fakes)
    moderated = text(soup, "#moderation")
    assert "Moderated" in moderated
    assert "Requires improvement" in moderated
    assert "Risk was managed; planning needs work" in moderated
    assert "Dev Dhillon" in moderated
    links = [a["href"] for a in soup.select("#moderation a")]
    assert links == ["/moderations/MOD-0001"]  # not another audit's moderation
    followed = text(soup, "#followup")
    assert "Open" in followed
    assert "Overdue" in followed
    assert "Reflective conversation" in followed
    assert "2 December 2026" in followed
    assert "Chloe Carter" in followed
    assert [a["href"] for a in soup.select("#followup a")] == ["/followups/FU-0001"]
    assert ("moderation.moderations", (), {"audit_id": "AUD-0001"}) in fakes.calls
    assert ("scheduler.followups", (), {"audit_id": "AUD-0001"}) in fakes.calls


def test_an_audit_awaiting_its_moderator_says_so():
    waiting = moderation(status="open", moderated_grade=None, rationale=None, moderated_at=None)
    _, soup = audit_page(audit_fakes(**{"moderation.moderations": [waiting]}))
    assert "Awaiting the moderator" in text(soup, "#moderation")


def test_when_moderation_or_the_scheduler_cannot_answer_the_audit_still_shows():
    fakes = audit_fakes(
        **{
            "moderation.moderations": ApiError(422, "unknown filter"),
            "scheduler.followups": ApiError(503, "down"),
        }
    )
    answer, soup = audit_page(fakes)
    assert answer.status_code == 200
    assert "Moderation: not known" in text(soup, "#moderation")
    assert "Follow-up: not known" in text(soup, "#followup")


def test_an_audit_the_api_refuses_is_you_cannot_see_this():
    answer, soup = audit_page(audit_fakes(**{"audit.audit": ApiError(403, "not yours")}))
    assert answer.status_code == 403
    assert text(soup, "h1") == "You cannot see this"


def test_an_unknown_audit_is_page_not_found():
    answer, soup = audit_page(audit_fakes(**{"audit.audit": ApiError(404, "no audit")}))
    assert answer.status_code == 404
    assert text(soup, "h1") == "Page not found"


def many_audits(limit, offset, **_filters):
    return [stored_audit(id=f"AUD-{n:04d}") for n in range(offset, min(offset + limit, 60))]


def test_the_list_links_each_audit_and_pages_through_them_keeping_the_filters():
    fakes = FakeBackends({"audit.audits": many_audits})
    with web(fakes) as client:
        sign_in(client, "S0003")
        first = page(client.get("/audits?grade=inadequate&team_id=EH-NORTH&month=2026-11"))
        second = page(client.get("/audits?grade=inadequate&page=2"))
    assert text(first, "h1") == "Audits"
    rows = first.select("tbody .govuk-table__row")
    assert len(rows) == 25
    assert rows[0].select_one("a")["href"] == "/audits/AUD-0000"
    assert text(rows[0], "a") == "CASE-000123"
    assert first.select_one(".govuk-pagination__prev") is None
    next_link = first.select_one(".govuk-pagination__next a")["href"]
    assert next_link == "/audits?month=2026-11&grade=inadequate&team_id=EH-NORTH&page=2"
    assert (
        second.select_one(".govuk-pagination__prev a")["href"] == "/audits?grade=inadequate&page=1"
    )
    assert second.select_one("#grade option[selected]")["value"] == "inadequate"
    asked = [kwargs for name, _, kwargs in fakes.calls if name == "audit.audits"]
    assert asked[0] == {
        "month": "2026-11",
        "grade": "inadequate",
        "team_id": "EH-NORTH",
        "limit": 26,
        "offset": 0,
    }
    assert asked[1] == {"grade": "inadequate", "limit": 26, "offset": 25}


def test_the_list_offers_the_last_twelve_months_and_sends_no_filter_it_does_not_offer():
    fakes = FakeBackends({"audit.audits": []})
    with web(fakes) as client:
        sign_in(client, "S0003")
        soup = page(client.get("/audits?month=1999-01&kind=nonsense&service_area=early_help"))
    months = [option["value"] for option in soup.select("#month option")][1:]
    assert months[0] == "2026-11"
    assert months[-1] == "2025-12"
    assert len(months) == 12
    assert "No audits match these filters" in text(soup, "main")
    assert fakes.calls[-1][2] == {"service_area": "early_help", "limit": 26, "offset": 0}


def every_audit_page():
    fakes = audit_fakes(
        **{"audit.audits": many_audits, "audit.submit": lambda b, k: stored_audit()}
    )
    with web(fakes) as client:
        sign_in(client, "S0003")
        shown = {path: client.get(path) for path in ("/audits/new", "/audits")}
        token = csrf(client, "/audits/new")
        shown["/audits/new (errors)"] = client.post("/audits/new", data={"csrf_token": token})
        client.post("/audits/new", data=answers(token))
        shown["/audits/new/check"] = client.get("/audits/new/check")
        client.post("/audits/new/check", data={"csrf_token": token})
        for path in ("/audits/AUD-0001/recorded", "/audits/AUD-0001"):
            shown[path] = client.get(path)
    return shown


def test_every_audit_page_has_one_h1_and_a_label_for_every_field():
    for path, answer in every_audit_page().items():
        soup = page(answer)
        assert len(soup.select("h1")) == 1, path
        fields = soup.select("main input:not([type=hidden]), main select, main textarea")
        unlabelled = [
            field.get("id") or field.get("name")
            for field in fields
            if not (field.get("id") and soup.select_one(f"label[for='{field['id']}']"))
        ]
        assert unlabelled == [], path
        for group in soup.select("main .govuk-radios, main .govuk-checkboxes"):
            fieldset = group.find_parent("fieldset")
            assert fieldset is not None, path
            assert fieldset.legend is not None, path
