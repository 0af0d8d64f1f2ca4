"""Allocated audits: the lists, one allocation's page per person, and its forms (a reflection,
the audit saved as a draft then submitted, declining it, exempting the case)."""

from datetime import UTC, date, datetime

import pytest

from services.web import listing
from services.web.clients.api import ApiError
from services.web.forms.audit_form import DOMAINS
from services.web.views import allocations
from tests.unit.web.pages import FakeBackends, csrf, page, sign_in, text, web
from tests.unit.web.test_api_client import NEEDS_CONFIRMATION, refusal
from tests.unit.web.test_audits_recording import stored_audit
from tests.unit.web.test_programme_pages import allocation

AUDITOR, PRACTITIONER, TEAM_MANAGER = "S0013", "S0006", "S0005"
ASSISTANT_DIRECTOR, HEAD_OF_SERVICE, OTHER_AUDITOR = "S0001", "S0003", "S0009"


@pytest.fixture(autouse=True)
def friday_4_december(monkeypatch):
    monkeypatch.setattr(listing, "today", lambda: date(2026, 12, 4))
    monkeypatch.setattr(allocations, "now", lambda: datetime(2026, 12, 4, 10, 0, tzinfo=UTC))


def allocation_page(staff_id, found=None, **more):
    fakes = FakeBackends({"audit.allocation": found or allocation()} | more)
    with web(fakes) as client:
        sign_in(client, staff_id)
        return page(client.get("/allocations/ALC-1"))


def forms(soup):
    return [f["class"][0] for f in soup.select("main form")]


# --- the lists ----------------------------------------------------------------------------


def test_an_auditor_sees_the_audits_allocated_to_them_with_status_and_due_date():
    fakes = FakeBackends(
        {
            "audit.allocations": [
                allocation(),
                allocation(id="ALC-2", status="in_progress", late=True),
            ]
        }
    )
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        soup = page(client.get("/allocations"))
    assert text(soup, "h1") == "Audits allocated to you"
    assert (
        "audit.allocations",
        (),
        {"auditor_id": AUDITOR, "limit": 26, "offset": 0},
    ) in fakes.calls
    rows = [
        [td.get_text(" ", strip=True) for td in tr.select("td")] for tr in soup.select("tbody tr")
    ]
    assert rows[0][:4] == ["CASE-101", "Early Help North", "31 December 2026", "Allocated"]
    assert rows[1][3] == "In progress Late"
    assert soup.select_one("tbody a[href='/allocations/ALC-2']") is not None
    active = soup.select_one(".govuk-service-navigation__item--active a")
    assert (active.get_text(strip=True), active["href"]) == ("Allocated audits", "/allocations")


def test_a_practitioner_sees_the_audits_of_their_cases_as_the_api_scopes_them():
    fakes = FakeBackends({"audit.allocations": [allocation()]})
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        soup = page(client.get("/allocations"))
    assert text(soup, "h1") == "Audits of your cases"
    assert ("audit.allocations", (), {"limit": 26, "offset": 0}) in fakes.calls
    assert "Marcus Mensah" in text(soup, "tbody tr")  # who audits it


def test_a_team_manager_who_audits_has_both_lists_their_teams_by_team():
    fakes = FakeBackends({"audit.allocations": []})
    with web(fakes) as client:
        sign_in(client, TEAM_MANAGER)
        mine = page(client.get("/allocations"))
        cases = page(client.get("/allocations?list=cases"))
    assert text(mine, "h1") == "Audits allocated to you"
    assert mine.select_one(".app-allocation-lists a[href='/allocations?list=cases']") is not None
    assert text(cases, "h1") == "Audits of your cases"
    assert fakes.calls[-1][2] == {"team_id": "EH-NORTH", "limit": 26, "offset": 0}
    assert "No audits allocated." in text(cases, "main")


def test_a_long_list_of_allocations_is_paged():
    many = [allocation(id=f"ALC-{n}") for n in range(30)]
    fakes = FakeBackends(
        {"audit.allocations": lambda limit, offset, **_: many[offset : offset + limit]}
    )
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        second = page(client.get("/allocations?page=2"))
    assert [a["href"] for a in second.select("tbody a")] == [
        f"/allocations/ALC-{n}" for n in range(25, 30)
    ]
    assert second.select_one(".govuk-pagination__prev a")["href"] == (
        "/allocations?list=allocated&page=1"
    )


def test_my_work_lists_the_audits_allocated_to_an_auditor():
    fakes = FakeBackends(
        {
            "notifications.inbox": {"unread": 0, "items": []},
            "audit.allocations": [allocation()],
            "audit.audits": [],
        }
    )
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        soup = page(client.get("/"))
    heading = next(
        h for h in soup.select("main h2") if h.get_text(strip=True) == "Audits allocated to you"
    )
    found = heading.find_parent("section")
    assert found.select_one("a[href='/allocations/ALC-1']") is not None
    assert found.select_one("a[href='/allocations?list=allocated']") is not None


# --- who is offered which form ------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "status", "shown"),
    [
        (AUDITOR, "allocated", ["app-form-reflection", "app-form-audit", "app-form-decline"]),
        (AUDITOR, "in_progress", ["app-form-reflection", "app-form-audit", "app-form-decline"]),
        (PRACTITIONER, "allocated", ["app-form-reflection"]),
        (TEAM_MANAGER, "allocated", ["app-form-reflection"]),
        (ASSISTANT_DIRECTOR, "allocated", ["app-form-exempt"]),
        (HEAD_OF_SERVICE, "allocated", []),
        (OTHER_AUDITOR, "allocated", []),
        (AUDITOR, "submitted", []),
        (PRACTITIONER, "exempted", []),
        (ASSISTANT_DIRECTOR, "declined", []),
    ],
)
def test_each_person_is_offered_only_the_forms_they_may_use(person, status, shown):
    soup = allocation_page(person, allocation(status=status))
    assert forms(soup) == shown


def test_the_allocation_shows_its_summary_why_and_reflections():
    found = allocation(
        status="in_progress",
        reflections=[
            {
                "by": PRACTITIONER,
                "role": "practitioner",
                "text": "The plan was reviewed with the family",
                "at": "2026-12-02T09:00:00+00:00",
            }
        ],
        participants=[AUDITOR, PRACTITIONER],
    )
    soup = allocation_page(PRACTITIONER, found)
    assert text(soup, "h1") == "Audit of case CASE-101"
    assert text(soup, ".govuk-caption-l") == "Audit programme, December 2026"
    summary = text(soup, ".app-allocation")
    assert "Status In progress" in summary
    assert "Team Early Help North (Early help)" in summary
    assert "Auditor Marcus Mensah" in summary
    assert "Due 31 December 2026 (17 working days left)" in summary
    assert "Allocated 1 December 2026 at 07:00 by Dev Dhillon" in summary
    assert "Who took part Marcus Mensah, Femi Fischer" in summary
    assert text(soup, ".app-reflections").startswith("The plan was reviewed with the family")
    assert "Femi Fischer (practitioner), 2 December 2026 at 09:00" in text(soup, ".app-reflections")
    assert "Drawn at random (seed 8123)" in text(soup, "details.app-why")


# --- reflections --------------------------------------------------------------------------


def post(client, path, **fields):
    token = csrf(client, "/allocations/ALC-1")
    return client.post(f"/allocations/ALC-1/{path}", data={"csrf_token": token} | fields)


def test_a_reflection_is_posted_and_a_banner_says_so():
    fakes = FakeBackends({"audit.allocation": allocation(), "audit.add_reflection": allocation()})
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        answer = post(client, "reflections", text="  The plan was reviewed  ")
        shown = page(client.get(answer.headers["location"]))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/allocations/ALC-1?updated=reflection"
    assert ("audit.add_reflection", ("ALC-1", {"text": "The plan was reviewed"}), {}) in fakes.calls
    assert text(shown, ".govuk-notification-banner").endswith("Reflection added")


@pytest.mark.parametrize(
    ("typed", "message"),
    [("  ", "Enter your reflection"), ("x" * 2001, "Reflection must be 2000 characters or fewer")],
)
def test_an_empty_or_long_reflection_is_an_error_linked_to_its_box(typed, message):
    fakes = FakeBackends({"audit.allocation": allocation()})
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        answer = post(client, "reflections", text=typed)
    soup = page(answer)
    assert answer.status_code == 422
    link = soup.select_one(".govuk-error-summary a")
    assert (link.get_text(strip=True), link["href"]) == (message, "#reflection")
    assert not any(call[0] == "audit.add_reflection" for call in fakes.calls)


def test_a_reflection_that_looks_like_a_name_is_kept_once_confirmed():
    caution = refusal(
        [
            {
                "loc": ["body", "text"],
                "field": "text",
                "msg": "this looks like it holds a person's name: write about practice using "
                "the case reference only; to keep it as it is, confirm 'personal_data'",
                "type": "needs_confirmation",
                "ctx": {"confirm": "personal_data"},
            }
        ]
    )

    def reflect(_allocation_id, body):
        if "personal_data" not in body.get("confirmed", []):
            raise caution
        return allocation()

    fakes = FakeBackends({"audit.allocation": allocation(), "audit.add_reflection": reflect})
    with web(fakes) as client:
        sign_in(client, PRACTITIONER)
        warned = post(client, "reflections", text="Kayden's mum was seen")
        kept = post(client, "reflections", text="Kayden's mum was seen", confirmed="personal_data")
    soup = page(warned)
    assert warned.status_code == 422
    assert text(soup, ".govuk-error-summary__title") == "Check these answers"
    assert soup.select_one(".govuk-error-summary a")["href"] == "#confirmed-personal_data"
    box = soup.select_one(".app-form-reflection input[name=confirmed][value=personal_data]")
    assert box is not None
    assert soup.select_one("#reflection").get_text() == "Kayden's mum was seen"
    assert kept.status_code == 303
    sent = [call[1][1] for call in fakes.calls if call[0] == "audit.add_reflection"]
    assert sent[-1] == {"text": "Kayden's mum was seen", "confirmed": ["personal_data"]}


def test_a_refusal_of_the_wrong_person_is_a_clear_message():
    fakes = FakeBackends(
        {
            "audit.allocation": allocation(),
            "audit.add_reflection": ApiError(
                403, "only the case's practitioner, team manager or auditor"
            ),
        }
    )
    with web(fakes) as client:
        sign_in(client, HEAD_OF_SERVICE)
        answer = post(client, "reflections", text="A view")
    assert answer.status_code == 403
    assert text(page(answer), ".govuk-error-summary li") == (
        "You cannot do this: only the case's practitioner, team manager or auditor"
    )


# --- the audit: draft and submit ----------------------------------------------------------


def test_the_audit_form_is_filled_from_the_draft_last_saved():
    draft = {
        "domain_grades": {"assessment": "good", "planning": "requires_improvement"},
        "overall_grade": "good",
        "voice_of_child": {"evidenced": True, "note": "Wishes recorded"},
        "could_be_better_if": ["Record timescales"],
        "themes": ["planning", "partner_agencies", "early_help_offer"],
        "graded_at": "2026-12-03T12:00:00Z",
    }
    found = allocation(status="in_progress", draft=draft, draft_saved_at="2026-12-03T12:00:00Z")
    soup = allocation_page(AUDITOR, found)
    form = soup.select_one(".app-form-audit")
    assert form["action"] == "/allocations/ALC-1/audit"
    checked = {i["name"]: i["value"] for i in form.select("input[type=radio][checked]")}
    assert checked == {
        "assessment": "good",
        "planning": "requires_improvement",
        "overall_grade": "good",
        "voice_of_child_evidenced": "yes",
    }
    assert form.select_one("#voice_of_child_note").get_text() == "Wishes recorded"
    assert [i.get("value", "") for i in form.select("input[name=could_be_better_if]")] == [
        "Record timescales",
        "",
        "",
    ]
    ticked = [i["value"] for i in form.select("input[name=themes][checked]")]
    assert ticked == ["planning", "partner_agencies"]
    assert form.select_one("#other_themes")["value"] == "early help offer"
    assert [form.select_one(f"#graded_at-{p}")["value"] for p in ("day", "month", "year")] == [
        "3",
        "12",
        "2026",
    ]
    assert "Draft last saved 3 December 2026 at 12:00" in text(soup, "main")
    buttons = [b.get_text(strip=True) for b in form.select("button.govuk-button")]
    assert buttons[-2:] == ["Save draft", "Submit audit"]
    took_part = [i["value"] for i in form.select("input[name=took_part]")]
    assert took_part == [PRACTITIONER, TEAM_MANAGER]


def audit_post(client, action, **fields):
    data = {
        "csrf_token": csrf(client, "/allocations/ALC-1"),
        "action": action,
        "request_id": "web-req-1",
    }
    return client.post("/allocations/ALC-1/audit", data=data | fields)


GRADED = dict.fromkeys(DOMAINS, "good") | {
    "overall_grade": "good",
    "voice_of_child_evidenced": "yes",
    "graded_at-day": "4",
    "graded_at-month": "12",
    "graded_at-year": "2026",
}


def test_saving_a_draft_sends_only_what_is_answered():
    fakes = FakeBackends({"audit.allocation": allocation(), "audit.save_draft": allocation()})
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        answer = audit_post(
            client,
            "save_draft",
            assessment="good",
            could_be_better_if=["Record timescales", ""],
            themes=["planning"],
            **{"graded_at-day": "", "graded_at-month": "", "graded_at-year": ""},
        )
        shown = page(client.get(answer.headers["location"]))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/allocations/ALC-1?updated=draft"
    body = {
        "domain_grades": {"assessment": "good"},
        "could_be_better_if": ["Record timescales"],
        "themes": ["planning"],
    }
    assert ("audit.save_draft", ("ALC-1", body), {}) in fakes.calls
    assert text(shown, ".govuk-notification-banner").endswith("Draft saved")


def test_a_draft_with_a_note_but_no_answer_on_the_childs_voice_says_what_to_do():
    fakes = FakeBackends({"audit.allocation": allocation()})
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        answer = audit_post(client, "save_draft", voice_of_child_note="Wishes recorded")
    link = page(answer).select_one(".govuk-error-summary a")
    assert answer.status_code == 422
    assert link["href"] == "#voice_of_child_evidenced"
    assert not any(call[0] == "audit.save_draft" for call in fakes.calls)


def test_a_draft_refused_once_submitted_is_a_clear_message():
    fakes = FakeBackends(
        {
            "audit.allocation": allocation(),
            "audit.save_draft": ApiError(409, "the allocation is submitted already"),
        }
    )
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        answer = audit_post(client, "save_draft", assessment="good")
    assert answer.status_code == 409
    assert text(page(answer), ".govuk-error-summary li") == "The allocation is submitted already"


def test_submitting_sends_the_full_audit_with_who_took_part_and_shows_the_audit():
    submitted = {"allocation": allocation(status="submitted"), "audit": stored_audit(id="AUD-7")}
    fakes = FakeBackends(
        {
            "audit.allocation": allocation(),
            "audit.submit_allocation": submitted,
            "audit.audit": stored_audit(id="AUD-7"),
            "moderation.moderations": [],
            "scheduler.followups": [],
        }
    )
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        answer = audit_post(
            client,
            "submit",
            **GRADED,
            could_be_better_if=["Record timescales"],
            took_part=[PRACTITIONER, "S0099"],
        )
        shown = page(client.get(answer.headers["location"]))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/audits/AUD-7?submitted=1"
    [(allocation_id, body, key)] = [c[1] for c in fakes.calls if c[0] == "audit.submit_allocation"]
    assert (allocation_id, key) == ("ALC-1", "web-req-1")
    assert body == {
        "case_id": "CASE-101",
        "audit_kind": "learning",
        "reaudit_of": None,
        "team_id": None,
        "practitioner_id": None,
        "auditor_id": AUDITOR,
        "domain_grades": dict.fromkeys(DOMAINS, "good"),
        "overall_grade": "good",
        "voice_of_child": {"evidenced": True, "note": None},
        "could_be_better_if": ["Record timescales"],
        "themes": [],
        "graded_at": "2026-12-04T10:00:00Z",
        "confirmed": [],
        "took_part": [PRACTITIONER],  # only the case's own people
    }
    assert text(shown, ".govuk-notification-banner").endswith(
        "Audit submitted: the case's practitioner is told the outcome"
    )


def test_submitting_without_the_grades_lists_each_missing_answer_at_its_field():
    fakes = FakeBackends({"audit.allocation": allocation()})
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        answer = audit_post(client, "submit", assessment="good", **{"graded_at-day": ""})
    soup = page(answer)
    assert answer.status_code == 422
    links = {a["href"] for a in soup.select(".govuk-error-summary a")}
    assert {"#planning", "#overall_grade", "#voice_of_child_evidenced", "#graded_at-day"} <= links
    assert "#assessment" not in links
    assert soup.select_one("input[name=assessment][value=good]").has_attr("checked")
    assert not any(call[0] == "audit.submit_allocation" for call in fakes.calls)


def test_the_audits_warnings_are_confirmed_on_the_form_and_sent_back():
    def submit(_allocation_id, body, _key):
        if not body["confirmed"]:
            raise refusal(NEEDS_CONFIRMATION)
        return {"allocation": allocation(status="submitted"), "audit": stored_audit(id="AUD-7")}

    fakes = FakeBackends({"audit.allocation": allocation(), "audit.submit_allocation": submit})
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        warned = audit_post(client, "submit", **GRADED)
        kept = audit_post(
            client, "submit", **GRADED, confirmed=["personal_data", "overall_grade_against_domains"]
        )
    soup = page(warned)
    assert warned.status_code == 422
    boxes = soup.select(".app-form-audit input[name=confirmed]")
    assert [b["value"] for b in boxes] == ["personal_data", "overall_grade_against_domains"]
    assert soup.select_one(".app-form-audit input[name=request_id]")["value"] == "web-req-1"
    assert kept.headers["location"] == "/audits/AUD-7?submitted=1"


def test_adding_a_learning_point_shows_another_box_without_saving():
    fakes = FakeBackends({"audit.allocation": allocation()})
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        answer = audit_post(client, "add_point", could_be_better_if=["One", "Two", "Three"])
    soup = page(answer)
    assert answer.status_code == 200
    assert len(soup.select("input[name=could_be_better_if]")) == 4
    assert not any(
        c[0].startswith("audit.save") or c[0] == "audit.submit_allocation" for c in fakes.calls
    )


# --- declining and exempting --------------------------------------------------------------


def test_declining_says_who_it_was_reallocated_to():
    declined = {
        "declined": allocation(status="declined"),
        "reallocated": allocation(id="ALC-9", auditor_id=OTHER_AUDITOR),
        "unallocated_reason": None,
    }
    fakes = FakeBackends({"audit.allocation": allocation(), "audit.decline_allocation": declined})
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        answer = post(client, "decline", reason="I supervised this practitioner last year")
        shown = page(client.get(answer.headers["location"]))
    assert answer.headers["location"] == f"/allocations/ALC-1?declined={OTHER_AUDITOR}"
    assert (
        "audit.decline_allocation",
        ("ALC-1", {"reason": "I supervised this practitioner last year"}),
        {},
    ) in fakes.calls
    assert text(shown, ".govuk-notification-banner").endswith(
        "You declined this audit. It is reallocated to Isla Iqbal."
    )


def test_declining_when_nobody_else_can_take_it_says_so():
    declined = {"declined": allocation(status="declined"), "reallocated": None}
    fakes = FakeBackends({"audit.allocation": allocation(), "audit.decline_allocation": declined})
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        answer = post(client, "decline", reason="Conflict of interest")
        shown = page(client.get(answer.headers["location"]))
    assert answer.headers["location"] == "/allocations/ALC-1?declined=nobody"
    assert "Nobody else could take it" in text(shown, ".govuk-notification-banner")


def test_declining_needs_a_reason():
    fakes = FakeBackends({"audit.allocation": allocation()})
    with web(fakes) as client:
        sign_in(client, AUDITOR)
        answer = post(client, "decline", reason="")
    link = page(answer).select_one(".govuk-error-summary a")
    assert (link.get_text(strip=True), link["href"]) == (
        "Enter why you decline this audit",
        "#decline_reason",
    )


def test_an_assistant_director_exempts_the_case_with_a_reason():
    fakes = FakeBackends(
        {"audit.allocation": allocation(), "audit.exempt_allocation": allocation(status="exempted")}
    )
    with web(fakes) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        answer = post(client, "exempt", reason="In care proceedings this month")
        shown = page(client.get(answer.headers["location"]))
    assert answer.headers["location"] == "/allocations/ALC-1?updated=exempted"
    assert (
        "audit.exempt_allocation",
        ("ALC-1", {"reason": "In care proceedings this month"}),
        {},
    ) in fakes.calls
    assert "Case exempted" in text(shown, ".govuk-notification-banner")


def test_exempting_what_is_done_already_is_a_clear_message():
    fakes = FakeBackends(
        {
            "audit.allocation": allocation(),
            "audit.exempt_allocation": ApiError(409, "the allocation is submitted already"),
        }
    )
    with web(fakes) as client:
        sign_in(client, ASSISTANT_DIRECTOR)
        answer = post(client, "exempt", reason="In care proceedings")
    assert answer.status_code == 409
    assert text(page(answer), ".govuk-error-summary li") == "The allocation is submitted already"


def ids_used_twice(soup):
    ids = [tag["id"] for tag in soup.select("[id]")]
    return {i for i in ids if ids.count(i) > 1}


def test_every_form_of_the_auditors_page_has_fields_of_its_own_and_needs_no_script():
    soup = allocation_page(AUDITOR)
    assert ids_used_twice(soup) == set()
    for form in soup.select("main form"):
        assert form["method"] == "post"
        assert form.select_one("input[name=csrf_token]") is not None
