"""A re-audit shows the follow-up's actions beside the grades and records whether each made a
difference (verified / not achieved) once the audit is recorded."""

from datetime import UTC, datetime

import pytest

from services.web.clients.api import ApiError
from services.web.views import action_checks, audits
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web
from tests.unit.web.test_audits_recording import answers, stored_audit

AUDITOR = "S0009"


@pytest.fixture(autouse=True)
def _a_fixed_clock(monkeypatch):
    monkeypatch.setattr(audits, "now", lambda: datetime(2026, 11, 27, 10, 0, tzinfo=UTC))


def action(action_id, status, **changes):
    return {
        "id": action_id,
        "case_id": "CASE-000123",
        "origin": "followup",
        "origin_id": "F-1",
        "audit_id": "AUD-0001",
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "what": f"Action {action_id}",
        "owner_id": "S0006",
        "due_on": "2026-11-20",
        "status": status,
        "overdue": False,
        "evidence": [],
        "status_reason": None,
        "history": [],
        "agreed_at": "2026-10-08T10:00:00Z",
    } | changes


PLAN = [
    action("ACT-1", "done", evidence=[{"note": "Plan rewritten", "by": "S0006", "at": "x"}]),
    action("ACT-2", "open"),
    action("ACT-3", "cancelled", status_reason="Case moved"),
]
WAITING = {"id": "F-1", "audit_id": "AUD-0001", "status": "open", "step": "reaudit"}


def fakes(**changes):
    return FakeBackends(
        {
            "notifications.inbox": {"unread": 0, "items": []},
            "audit.audit": lambda audit_id: stored_audit(id=audit_id),
            "audit.submit": lambda body, key: stored_audit(
                id="AUD-0002", audit_kind="reaudit", reaudit_of="AUD-0001", overall_grade="good"
            ),
            "scheduler.followups": [WAITING, WAITING | {"id": "F-0", "status": "completed"}],
            "scheduler.actions": lambda origin_id, limit, offset: PLAN if offset == 0 else [],
            "scheduler.verify_action": {},
        }
        | changes
    )


def reaudit(client, **changes):
    token = csrf(client, "/audits/new?reaudit_of=AUD-0001")
    form = answers(token, **({"audit_kind": "reaudit", "reaudit_of": "AUD-0001"} | changes))
    return client.post("/audits/new", data=form)


def test_the_re_audit_form_shows_the_done_actions_to_check_and_the_open_ones_beside_the_grades():
    found = fakes()
    with web(found) as client:
        sign_in(client, AUDITOR)
        soup = page(client.get("/audits/new?reaudit_of=AUD-0001"))
    assert ("scheduler.followups", (), {"audit_id": "AUD-0001"}) in found.calls
    asked = [call[2] for call in found.calls if call[0] == "scheduler.actions"]
    assert asked == [{"origin_id": "F-1", "limit": 100, "offset": 0}]  # not the closed F-0
    check = soup.select_one(".app-action-check")
    assert text(check, "legend") == "Agreed action 1: Action ACT-1"
    assert "Evidence: Plan rewritten" in text(check, ".govuk-hint")
    assert [i["value"] for i in check.select("input[name=verify-ACT-1]")] == [
        "verified",
        "not_achieved",
    ]
    assert soup.select("input[name^=verify-]") == check.select("input")
    assert text(soup, ".app-actions-still-open") == "Action ACT-2, due 20 November 2026"
    grades = soup.find("h2", string="Grades")
    assert grades.find_next("h2")["id"] == "agreed-actions"  # beside the grades


def test_each_done_action_must_be_checked_before_the_re_audit_goes_on():
    with web(fakes()) as client:
        sign_in(client, AUDITOR)
        answer = reaudit(client)
    soup = page(answer)
    assert answer.status_code == 422
    links = [(a.get_text(strip=True), a["href"]) for a in soup.select(".govuk-error-summary a")]
    assert links == [("Select whether agreed action 1 made a difference", "#verify-ACT-1")]
    assert soup.select_one("#verify-ACT-1") is not None


def test_the_checks_are_shown_to_check_and_posted_once_the_re_audit_is_recorded():
    found = fakes()
    with web(found) as client:
        sign_in(client, AUDITOR)
        assert reaudit(client, **{"verify-ACT-1": "verified"}).status_code == 303
        checking = page(client.get("/audits/new/check"))
        recorded = client.post("/audits/new/check", data={"csrf_token": csrf(client)})
        shown = page(client.get(recorded.headers["location"]))
    assert text(checking, ".app-action-checks").startswith(
        "Action ACT-1 Verified: it made a difference Change"
    )
    change = checking.select_one(".app-action-checks a")["href"]
    assert change == "/audits/new?change=verify-ACT-1#verify-ACT-1"
    [(_, (action_id, body), _)] = [c for c in found.calls if c[0] == "scheduler.verify_action"]
    [(_, (_, key), _)] = [c for c in found.calls if c[0] == "audit.submit"]
    assert (action_id, body) == (
        "ACT-1",
        {
            "verified_by": AUDITOR,
            "outcome": "verified",
            "reaudit_id": "AUD-0002",
            "request_id": action_checks.check_request_id(key, "ACT-1", "verified"),
        },
    )
    assert text(shown, ".app-checks-recorded") == "1 of 1 checks of the agreed actions recorded."
    assert shown.select_one(".govuk-error-summary") is None


def test_changing_a_check_from_check_your_answers_shows_it_chosen():
    with web(fakes()) as client:
        sign_in(client, AUDITOR)
        reaudit(client, **{"verify-ACT-1": "not_achieved"})
        soup = page(client.get("/audits/new?change=verify-ACT-1"))
    assert soup.select_one("input[name=verify-ACT-1][value=not_achieved]").has_attr("checked")


def test_a_check_the_scheduler_refuses_is_shown_and_can_be_sent_again_as_the_same_request():
    refused = ApiError(422, "Some answers need changing", {"followup": "not at its re-audit yet"})
    found = fakes(**{"scheduler.verify_action": refused})
    with web(found) as client:
        sign_in(client, AUDITOR)
        reaudit(client, **{"verify-ACT-1": "not_achieved"})
        client.post("/audits/new/check", data={"csrf_token": csrf(client)})
        failed = page(client.get("/audits/AUD-0002/recorded"))
        found.answers["scheduler.verify_action"] = {}
        again = client.post("/audits/AUD-0002/checks", data={"csrf_token": csrf(client)})
        shown = page(client.get(again.headers["location"]))
    assert text(failed, ".govuk-error-summary__list") == (
        "The check of action ACT-1 was not recorded: Not at its re-audit yet"
    )
    assert text(failed, ".app-checks-recorded") == "0 of 1 checks of the agreed actions recorded."
    assert failed.select_one("form[action='/audits/AUD-0002/checks']") is not None
    sent = [c[1] for c in found.calls if c[0] == "scheduler.verify_action"]
    assert len(sent) == 2
    assert sent[0] == sent[1]  # the same request: the scheduler answers a replay alike
    assert text(shown, ".app-checks-recorded") == "1 of 1 checks of the agreed actions recorded."
    assert shown.select_one("form[action='/audits/AUD-0002/checks']") is None


def test_when_the_scheduler_cannot_say_the_re_audit_is_recorded_without_checks():
    found = fakes(**{"scheduler.followups": ApiError(503, "down")})
    with web(found) as client:
        sign_in(client, AUDITOR)
        soup = page(client.get("/audits/new?reaudit_of=AUD-0001"))
        posted = reaudit(client)
    assert "cannot be shown just now" in text(soup, ".app-checks-unavailable")
    assert posted.status_code == 303
    assert not any(call[0] == "scheduler.verify_action" for call in found.calls)


def test_an_audit_that_is_no_re_audit_asks_the_scheduler_nothing():
    found = fakes()
    with web(found) as client:
        sign_in(client, AUDITOR)
        posted = client.post("/audits/new", data=answers(csrf(client, "/audits/new")))
        assert posted.status_code == 303
    assert not any(call[0].startswith("scheduler.") for call in found.calls)


def test_a_check_request_names_the_audit_the_action_and_the_outcome():
    one = action_checks.check_request_id("web-key", "ACT-1", "verified")
    assert one == action_checks.check_request_id("web-key", "ACT-1", "verified")
    assert one != action_checks.check_request_id("web-key", "ACT-1", "not_achieved")
    assert one != action_checks.check_request_id("web-key", "ACT-2", "verified")
    assert 8 <= len(one) <= 128
