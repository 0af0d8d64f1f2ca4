"""People's journeys through the web front in a real browser, against the running services."""

import asyncio
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from shared.calendar import uk_day
from shared.organisation import load_organisation
from tests.conftest import USED
from tests.e2e.browser import SCREENSHOTS, Visitor, launch, visitor
from tests.e2e.conftest import System, wait_for
from tests.e2e.test_programme import case_events_processed, case_opened, practitioner_of, publish

CHECKED: dict[str, Visitor] = {}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()
    pages = sum(len(v.checked) for v in CHECKED.values())
    serious = sum(len(found) for v in CHECKED.values() for found in v.violations.values())
    foreign = sum(
        len(v.requests) - len([u for u in v.requests if v._own(u)]) for v in CHECKED.values()
    )
    USED["browser"] = (
        f"browser: {pages} pages checked in Chromium by {len(CHECKED)} visitors; axe-core "
        f"serious/critical violations {serious}; requests to other hosts {foreign}; "
        f"screenshots under {SCREENSHOTS}"
    )


def person(
    browser: Browser, system: System, request: pytest.FixtureRequest, **options: bool
) -> Visitor:
    assert system.web is not None
    found = visitor(browser, system.web.url, request.node.name, **options)
    CHECKED[f"{request.node.name}:{len(CHECKED)}"] = found  # one test may have several
    return found


def test_a_head_of_service_signs_in_and_sees_my_work(browser, system, request):
    head = person(browser, system, request)
    head.go("/")
    expect(head.page.get_by_role("heading", level=1)).to_have_text("Who are you?")
    head.check("sign-in")
    head.sign_in("S0003")
    expect(head.page.get_by_role("heading", level=1)).to_have_text("My work")
    expect(head.page.get_by_text("Signed in as Chloe Carter")).to_be_visible()
    head.check("my-work")


def test_signing_in_works_without_javascript(browser, system, request):
    head = person(browser, system, request, javascript=False)
    head.sign_in("S0003")
    expect(head.page.get_by_role("heading", level=1)).to_have_text("My work")
    head.check("my-work-no-javascript")


# --- one Inadequate audit, through every role's pages -------------------------------------
# The tests below run in this order and share what they made: the audit of one new case.
CASE = f"CASE-9{uuid.uuid4().int % 10**5:05d}"
MADE: dict[str, str] = {}
AUDITOR, HEAD, PRACTITIONER, OTHER_TEAMS_PRACTITIONER = "S0009", "S0003", "S0006", "S0010"
TEAM_MANAGER = "S0005"  # Early Help North: owner of the conversation's action by default
GRADES = {
    "assessment": "requires_improvement",
    "planning": "requires_improvement",
    "visits": "inadequate",
    "voice_of_child": "inadequate",
    "management_oversight": "requires_improvement",
    "recording": "good",
    "overall_grade": "inadequate",
}


def fill_audit_form(page: Page, case_id: str) -> None:
    page.fill("#case_id", case_id)
    page.check("input[name=audit_kind][value=learning]")
    page.select_option("#team_id", "EH-NORTH")
    page.select_option("#practitioner_id", PRACTITIONER)
    for name, grade in GRADES.items():
        page.check(f"input[name={name}][value={grade}]")
    page.check("input[name=voice_of_child_evidenced][value=no]")
    page.fill("input[name=could_be_better_if] >> nth=0", "Visits record what the child said")


def email_link(system: System, staff_id: str, path_start: str) -> str:
    """The path of the link in the newest email to `staff_id` about CASE that opens `path_start`."""
    address = str(load_organisation().staff_by_id[staff_id].email)

    def find() -> str | None:
        for message in reversed(system.emails()):
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body else ""
            if message["To"] == address and CASE in text:
                for link in re.findall(r"https?://\S+", text):
                    if urlsplit(link).path.startswith(path_start):
                        return urlsplit(link).path
        return None

    found = wait_for(find, f"an email to {staff_id} linking to {path_start}", timeout=60)
    return str(found)


def test_an_auditor_records_an_inadequate_audit_through_the_form(browser, system, request):
    auditor = person(browser, system, request)
    auditor.sign_in(AUDITOR)
    page = auditor.go("/audits/new")
    auditor.check("record-an-audit")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page).to_have_title(re.compile("^Error: "))
    auditor.check("record-an-audit-errors")
    fill_audit_form(page, CASE)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check")
    expect(page.locator("main")).to_contain_text(CASE)
    auditor.check("check-your-answers")
    page.get_by_role("button", name="Record the audit").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Audit recorded")
    MADE["audit"] = page.locator(".govuk-panel strong").inner_text().strip()
    assert MADE["audit"].startswith("AUD-")
    auditor.check("audit-recorded")


def test_answers_that_look_wrong_are_warned_about_and_kept_once_confirmed(browser, system, request):
    """Outstanding overall with every domain Inadequate, and a learning point naming a child:
    both may be right, so the auditor is asked, ticks each box, and the audit is recorded."""
    auditor = person(browser, system, request)
    auditor.sign_in(AUDITOR)
    page = auditor.go("/audits/new")
    fill_audit_form(page, f"CASE-8{uuid.uuid4().int % 10**5:05d}")
    for name in GRADES:
        page.check(f"input[name={name}][value=inadequate]")
    page.check("input[name=overall_grade][value=outstanding]")
    page.fill("input[name=could_be_better_if] >> nth=0", "Ask Kayden's mum about school")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Record the audit").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Check these answers")
    boxes = page.get_by_label("I have checked this and want to keep it")
    expect(boxes).to_have_count(2)
    auditor.check("check-these-answers")
    for number in range(2):
        boxes.nth(number).check()
    page.get_by_role("button", name="Record the audit").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Audit recorded")


def test_the_head_of_service_opens_the_email_link_and_records_the_conversation(
    browser, system, request
):
    link = email_link(system, HEAD, "/followups/")
    head = person(browser, system, request)
    head.sign_in(HEAD)
    expect(head.page.locator("main")).to_contain_text(CASE)  # My work lists the follow-up
    head.check("my-work-head-of-service")
    page = head.go(link)
    expect(page.locator("main")).to_contain_text(CASE)
    head.check("follow-up")
    today = uk_day(datetime.now(UTC))
    page.fill("#held_on-day", str(today.day))
    page.fill("#held_on-month", str(today.month))
    page.fill("#held_on-year", str(today.year))
    page.check(f"input[name=attendees][value={HEAD}]")
    page.fill("#action-1-what", "Weekly visits recorded with the child's words")
    page.get_by_role("button", name="Record the conversation").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Reflective conversation recorded"
    )
    head.check("conversation-recorded")


def test_the_actions_owner_finds_it_in_their_actions_and_marks_it_done(browser, system, request):
    """The conversation's action is the team manager's (the default owner): their Actions
    page lists it, its page shows it, and they mark it done with what was done."""
    owner = person(browser, system, request)
    owner.sign_in(TEAM_MANAGER)
    page = owner.go("/actions")
    expect(page.locator("main")).to_contain_text(CASE)
    owner.check("your-actions")
    page.locator("main table a").filter(has_text=CASE).first.click()
    expect(page.locator("main")).to_contain_text("Weekly visits recorded with the child's words")
    owner.check("action")
    page.fill("#done_evidence", "Visits since the conversation record what the child said")
    page.get_by_role("button", name="Mark as done").click()
    expect(page.locator(".govuk-notification-banner")).to_be_visible()
    owner.check("action-done")
    owner.go(f"/cases/{CASE}/actions")
    owner.check("case-actions")


def test_the_moderator_records_a_grade_from_the_queue(browser, system, request):
    def assigned() -> dict | None:
        found = system.get("moderation", "/moderations", audit_id=MADE["audit"]).json()
        return next(iter(found), None)

    moderation = wait_for(assigned, "the audit's moderation")
    assert isinstance(moderation, dict)
    moderator = person(browser, system, request)
    moderator.sign_in(moderation["moderator_id"])
    page = moderator.go("/moderations")
    moderator.check("moderation-queue")
    page.locator(f"a[href='/moderations/{moderation['id']}']").first.click()
    expect(page.locator("main")).to_contain_text(CASE)
    moderator.check("moderation")
    page.check("input[name=moderated_grade][value=inadequate]")
    page.get_by_role("button", name="Record the moderation").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Moderation recorded")
    moderator.check("moderation-recorded")


def test_a_practitioner_opens_what_they_were_told_about_and_not_another_teams_audit(
    browser, system, request
):
    link = email_link(system, PRACTITIONER, "/audits/")
    practitioner = person(browser, system, request)
    practitioner.sign_in(PRACTITIONER)
    page = practitioner.go("/inbox")
    practitioner.check("inbox")
    page.locator(f"main a[href='{link}']").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(CASE)
    practitioner.check("audit-seen-by-its-practitioner")
    stranger = person(browser, system, request)
    stranger.sign_in(OTHER_TEAMS_PRACTITIONER)
    page = stranger.go(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot see this")
    stranger.check("audit-refused-to-another-team")


def test_the_dashboards_show_the_new_figures(browser, system, request):
    head = person(browser, system, request)
    head.sign_in(HEAD)
    month = f"{uk_day(datetime.now(UTC)):%B %Y}"
    page = head.go("/dashboards/grades?service_area=early_help")
    row = page.locator("table tbody tr", has=page.locator(f"th:text-is('{month}')"))
    audits = int(row.locator("td").first.inner_text())
    assert audits >= 1  # at least the audit recorded through the form this morning
    svg = page.locator("svg[role=img]").first
    expect(svg.locator("title")).not_to_be_empty()
    expect(svg.locator("desc")).to_contain_text(month)
    head.check("dashboard-grades")
    for name in ("target", "consistency", "timeliness", "themes"):
        page = head.go(f"/dashboards/{name}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        head.check(f"dashboard-{name}")
    csv = page.request.get(f"{head.base_url}/dashboards/grades.csv?service_area=early_help")
    assert csv.ok
    assert month.split()[0] in csv.text() or datetime.now(UTC).strftime("%Y-%m") in csv.text()


def test_the_cases_timeline_and_the_workers_learning_are_shown_to_those_who_may_see_them(
    browser, system, request
):
    head = person(browser, system, request)
    head.sign_in(HEAD)
    page = head.go(f"/cases/{CASE}")
    expect(page.get_by_role("heading", level=1)).to_have_text(CASE)
    if MADE.get("audit"):  # the audit recorded through the form above, and what followed it
        timeline = page.locator(".app-case-timeline")
        expect(timeline).to_contain_text("Learning audit graded")
        expect(timeline.locator(f"a[href='/audits/{MADE['audit']}']")).to_be_visible()
    head.check("case-timeline")
    page = head.go(f"/people/{PRACTITIONER}/learning")
    expect(page.get_by_role("heading", level=1)).to_have_text("Learning of Femi Fischer")
    head.check("worker-learning")
    worker = person(browser, system, request)
    worker.sign_in(PRACTITIONER)
    page = worker.go(f"/people/{PRACTITIONER}/learning")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your learning")
    worker.check("own-learning")
    stranger = person(browser, system, request)
    stranger.sign_in(OTHER_TEAMS_PRACTITIONER)
    page = stranger.go(f"/people/{PRACTITIONER}/learning")
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot do this")


def test_the_core_forms_work_without_javascript(browser, system, request):
    auditor = person(browser, system, request, javascript=False)
    auditor.sign_in(AUDITOR)
    page = auditor.go("/audits/new")
    fill_audit_form(page, f"{CASE}1")  # a second case
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Record the audit").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Audit recorded")
    auditor.check("audit-recorded-without-javascript")
    audit_id = page.locator(".govuk-panel strong").inner_text().strip()

    followup = wait_for(lambda: _one(system, "scheduler", "/followups", audit_id), "its follow-up")
    head = person(browser, system, request, javascript=False)
    head.sign_in(HEAD)
    page = head.go(f"/followups/{followup['id']}")
    today = uk_day(datetime.now(UTC))
    for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
        page.fill(f"#held_on-{part}", str(value))
    page.check(f"input[name=attendees][value={HEAD}]")
    page.fill("#action-1-what", "Supervision notes record the child's words")
    page.get_by_role("button", name="Record the conversation").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Reflective conversation recorded"
    )
    head.check("conversation-recorded-without-javascript")

    moderation = wait_for(
        lambda: _one(system, "moderation", "/moderations", audit_id), "its moderation"
    )
    moderator = person(browser, system, request, javascript=False)
    moderator.sign_in(moderation["moderator_id"])
    page = moderator.go(f"/moderations/{moderation['id']}")
    page.check("input[name=moderated_grade][value=inadequate]")
    page.get_by_role("button", name="Record the moderation").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Moderation recorded")
    moderator.check("moderation-recorded-without-javascript")


def _one(system: System, service: str, path: str, audit_id: str) -> dict | None:
    """The audit's record in a service's list, asked for as a machine caller."""
    found = system.get(service, path, audit_id=audit_id).json()
    return next((record for record in found if record["audit_id"] == audit_id), None)


# --- the monthly programme: the draw, an allocated audit, a reflection --------------------


def next_month(today: date) -> date:
    return (today.replace(day=28) + timedelta(days=4)).replace(day=1)


def test_the_programme_drawn_audited_as_a_draft_then_submitted_with_a_reflection(
    browser, system, request
):
    """The QA lead draws next month in the browser; the auditor the case went to saves a draft;
    the case's practitioner adds a reflection; the auditor finishes the audit from the draft
    and submits it, naming the team manager as taking part."""
    team = "EH-WEST"
    case = f"CASE-PW{uuid.uuid4().hex[:8].upper()}"
    before = case_events_processed(system)
    events = [case_opened(case, team, "child_in_need")]
    with ThreadPoolExecutor(1) as thread:  # Playwright's own event loop runs on this one
        thread.submit(asyncio.run, publish(system.stack.bootstrap_servers, events)).result()
    wait_for(lambda: case_events_processed(system) >= before + 1, "the case register")
    month = next_month(uk_day(datetime.now(UTC)))
    qa_lead = next(member.id for member in load_organisation().staff if member.qa_lead)

    lead = person(browser, system, request)
    lead.sign_in(qa_lead)
    page = lead.go("/programme")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit programme")
    lead.check("programme")
    page.fill("#month-month", str(month.month))
    page.fill("#month-year", str(month.year))
    page.fill("#size", "500")  # every eligible case, so this one is surely drawn
    page.fill("#seed", "20261202")
    page.get_by_role("button", name="Draw the programme").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{month:%B %Y}")
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Programme drawn")
    expect(page.locator(".app-parameters")).to_contain_text("20261202")
    row = page.locator("table.app-allocations tbody tr", has_text=case)
    expect(row).to_have_count(1)
    row.locator("summary").click()
    expect(row.locator(".app-why-case")).to_contain_text("20261202")
    lead.check("programme-month")

    [allocation] = system.get("audit", "/allocations", as_=qa_lead, case_id=case).json()
    path = f"/allocations/{allocation['id']}"
    auditor = person(browser, system, request)
    auditor.sign_in(allocation["auditor_id"])
    page = auditor.go("/allocations")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audits allocated to you")
    auditor.check("allocated-audits")
    page.locator(f"main a[href='{path}']").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Audit of case {case}")
    auditor.check("allocated-audit")
    for name in ("assessment", "planning", "visits"):
        page.check(f"input[name={name}][value=good]")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Draft saved")
    auditor.check("draft-saved")

    practitioner = person(browser, system, request)
    practitioner.sign_in(practitioner_of(team))
    page = practitioner.go("/allocations")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audits of your cases")
    page.locator(f"main a[href='{path}']").first.click()
    page.fill("#reflection", "The plan was reviewed with the family last week")
    page.get_by_role("button", name="Add your reflection").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Reflection added")
    expect(page.locator(".app-reflections")).to_contain_text("reviewed with the family")
    practitioner.check("reflection-added")

    page = auditor.go(path)
    expect(page.locator("input[name=planning][value=good]")).to_be_checked()  # from the draft
    expect(page.locator(".app-reflections")).to_contain_text("reviewed with the family")
    for name in ("voice_of_child", "management_oversight", "recording", "overall_grade"):
        page.check(f"input[name={name}][value=good]")
    page.check("input[name=voice_of_child_evidenced][value=yes]")
    page.fill("input[name=could_be_better_if] >> nth=0", "Record the plan's timescales")
    page.check(f"input[name=took_part][value={allocation['team_manager_id']}]")
    page.get_by_role("button", name="Submit audit").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Audit submitted")
    expect(page.get_by_role("heading", level=1)).to_contain_text(case)
    auditor.check("allocated-audit-submitted")

    done = system.get("audit", path, as_=qa_lead).json()
    assert done["status"] == "submitted"
    assert done["audit_id"]
    assert {
        allocation["auditor_id"],
        allocation["practitioner_id"],
        allocation["team_manager_id"],
    } <= set(done["participants"])
