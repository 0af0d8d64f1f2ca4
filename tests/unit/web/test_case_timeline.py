"""One case's page: its audits, moderations, follow-ups and actions in one timeline, time order."""

from services.web.clients.api import ApiError
from tests.unit.web.pages import FakeBackends, page, sign_in, text, web
from tests.unit.web.test_audits_pages import audit_fakes
from tests.unit.web.test_followup_pages import followup as followup_with_timeline

CASE = "CASE-000123"
HEAD_OF_SERVICE = "S0003"


def audit(**changes):
    return {
        "id": "AUD-1",
        "case_id": CASE,
        "audit_kind": "learning",
        "reaudit_of": None,
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "practitioner_id": "S0006",
        "team_manager_id": "S0005",
        "auditor_id": "S0009",
        "overall_grade": "inadequate",
        "themes": ["planning"],
        "could_be_better_if": [],
        "graded_at": "2026-10-01T09:00:00+00:00",  # 10:00 in the UK (summer time)
    } | changes


def moderation(**changes):
    return {
        "id": "MOD-1",
        "audit_id": "AUD-1",
        "case_id": CASE,
        "moderator_id": "S0004",
        "auditor_grade": "inadequate",
        "status": "completed",
        "requested_at": "2026-10-02T08:00:00+00:00",
        "moderated_grade": "requires_improvement",
        "moderated_at": "2026-10-05T14:00:00+00:00",
    } | changes


def followup(**changes):
    return {
        "id": "FU-1",
        "audit_id": "AUD-1",
        "case_id": CASE,
        "status": "open",
        "overdue": False,
        "step": "reaudit",
        "owner_id": "S0005",
        "due_on": "2026-12-01",
        "grading_day": "2026-10-01",
        "conversation_held_on": "2026-10-06",
        "conversation_late": False,
        "outcome": None,
    } | changes


def action(**changes):
    return {
        "id": "ACT-1",
        "case_id": CASE,
        "what": "Review the plan with the family",
        "owner_id": "S0006",
        "due_on": "2026-11-02",
        "status": "open",
        "overdue": False,
        "agreed_at": "2026-10-06T15:00:00+00:00",
    } | changes


def case_fakes(**changes):
    reaudit = audit(
        id="AUD-2",
        audit_kind="reaudit",
        reaudit_of="AUD-1",
        overall_grade="good",
        graded_at="2026-11-20T10:00:00+00:00",
    )
    answers = {
        # newest first, as the audit API lists them; one of another case the filter let through
        "audit.audits": [reaudit, audit(), audit(id="AUD-X", case_id="CASE-999")],
        "moderation.moderations": [moderation()],
        "scheduler.followups": [followup()],
        "scheduler.actions": [action()],
    }
    return FakeBackends(answers | changes)


def timeline_rows(soup):
    return [
        [" ".join(cell.get_text(" ", strip=True).split()) for cell in row.select("td")]
        for row in soup.select(".app-case-timeline tbody tr")
    ]


def case_page(fakes, who=HEAD_OF_SERVICE):
    with web(fakes) as client:
        sign_in(client, who)
        answer = client.get(f"/cases/{CASE}")
    return answer, page(answer)


def test_the_case_shows_its_audits_moderations_follow_ups_and_actions_in_time_order():
    fakes = case_fakes()
    answer, soup = case_page(fakes)
    assert answer.status_code == 200
    assert text(soup, "h1") == CASE
    rows = timeline_rows(soup)
    assert [row[1] for row in rows] == [
        "Learning audit graded Inadequate",
        "Follow-up opened Open: Re-audit, due 1 December 2026",
        "Chosen for moderation Audit AUD-1, graded Inadequate",
        "Moderated Requires improvement The auditor graded Inadequate",
        "Reflective conversation held",
        "Action agreed: Review the plan with the family Open, due 2 November 2026",
        "Re-audit graded Good Re-audit of AUD-1",
    ]
    assert [row[0] for row in rows] == [
        "1 October 2026 at 10:00",
        "1 October 2026",
        "2 October 2026 at 09:00",
        "5 October 2026 at 15:00",
        "6 October 2026",
        "6 October 2026 at 16:00",
        "20 November 2026 at 10:00",
    ]
    assert [row[2] for row in rows] == [
        "Auditor: Isla Iqbal",
        "Owner: Ellen Evans",
        "Moderator: Dev Dhillon",
        "Moderator: Dev Dhillon",
        "",
        "Owner: Femi Fischer",
        "Auditor: Isla Iqbal",
    ]
    links = [a["href"] for a in soup.select(".app-case-timeline tbody a")]
    assert links == [
        "/audits/AUD-1",
        "/followups/FU-1",
        "/moderations/MOD-1",
        "/moderations/MOD-1",
        "/followups/FU-1",
        "/actions/ACT-1",
        "/audits/AUD-2",
    ]
    assert "CASE-999" not in soup.get_text()  # a row of another case is never shown
    assert soup.select_one(f"a[href='/cases/{CASE}/actions']") is not None
    assert soup.select_one(".app-case-refused") is None


def test_each_service_is_asked_for_this_case_only():
    fakes = case_fakes()
    case_page(fakes)
    asked = {name: kwargs for name, _, kwargs in fakes.calls if "." in name}
    for name in (
        "audit.audits",
        "moderation.moderations",
        "scheduler.followups",
        "scheduler.actions",
    ):
        assert asked[name]["case_id"] == CASE, name


def test_a_source_that_refuses_shows_as_a_note_and_the_rest_of_the_case_still_shows():
    fakes = case_fakes(**{"moderation.moderations": ApiError(403, "not yours")})
    answer, soup = case_page(fakes)
    assert answer.status_code == 200
    assert "Some records of this case are not shown to you" in text(soup, ".app-case-refused")
    whats = [row[1] for row in timeline_rows(soup)]
    assert len(whats) == 5
    assert not any("moderat" in what.lower() for what in whats)
    assert whats[0] == "Learning audit graded Inadequate"


def test_a_source_that_does_not_answer_says_its_records_are_missing():
    fakes = case_fakes(**{"scheduler.actions": ApiError(503, "down")})
    _, soup = case_page(fakes)
    assert "scheduler (actions) did not answer" in text(soup, ".app-case-failed")
    assert soup.select_one(".app-case-refused") is None
    assert len(timeline_rows(soup)) == 6


def test_a_case_with_nothing_the_person_may_see_says_so():
    fakes = FakeBackends(
        {
            "audit.audits": [],
            "moderation.moderations": [],
            "scheduler.followups": [],
            "scheduler.actions": [],
        }
    )
    _, soup = case_page(fakes)
    assert "There are no records of this case that you may see" in text(soup, ".app-case-empty")


def test_a_case_reference_that_is_not_one_is_not_asked_for():
    fakes = case_fakes()
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = client.get("/cases/not-a-case")
    assert answer.status_code == 400
    assert not [name for name, _, _ in fakes.calls if name.endswith(".audits")]


def test_the_audit_page_links_its_case_reference_to_the_case():
    with web(audit_fakes()) as client:
        sign_in(client, "S0006")
        soup = page(client.get("/audits/AUD-0001"))
    link = soup.select_one("a.app-case-link")
    assert link["href"] == "/cases/CASE-000123"
    assert link.get_text(strip=True) == "CASE-000123"


def test_the_follow_up_page_links_its_case_reference_to_the_case():
    fakes = FakeBackends({"scheduler.followup": followup_with_timeline(), "scheduler.actions": []})
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        soup = page(client.get("/followups/F-1"))
    link = soup.select_one("a.app-case-link")
    assert link["href"] == "/cases/CASE-101"


def test_a_conversation_held_on_the_grading_day_comes_after_the_follow_up_opened():
    from services.web.views.cases import Found, timeline
    from shared.organisation import load_organisation

    followup = {
        "id": "FU-1",
        "owner_id": "S0003",
        "status": "open",
        "step": "reaudit",
        "due_on": "2026-11-10",
        "grading_day": "2026-10-01",
        "conversation_held_on": "2026-10-01",
    }
    found = {name: Found([]) for name in ("audits", "moderations", "actions")}
    found["followups"] = Found([followup])
    entries = timeline(load_organisation(), found)
    assert [e.what for e in entries] == ["Follow-up opened", "Reflective conversation held"]
