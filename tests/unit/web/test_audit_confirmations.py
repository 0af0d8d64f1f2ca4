"""Warnings the audit API asks the auditor to confirm: shown with a box to tick, sent back."""

from datetime import UTC, datetime

import pytest

from services.web.views import audits
from tests.unit.web.pages import csrf, page, sign_in, text, web
from tests.unit.web.test_api_client import NEEDS_CONFIRMATION, refusal
from tests.unit.web.test_audits_recording import (
    fakes_recording,
    on_check_page,
    stored_audit,
    submissions,
)

KEEP = "I have checked this and want to keep it"


@pytest.fixture(autouse=True)
def _a_fixed_clock(monkeypatch):
    monkeypatch.setattr(audits, "now", lambda: datetime(2026, 11, 27, 10, 0, tzinfo=UTC))


def audit_api(body, _key):
    """Like the audit API: warns until every warning's code comes back in `confirmed`."""
    left = [
        entry for entry in NEEDS_CONFIRMATION if entry["ctx"]["confirm"] not in body["confirmed"]
    ]
    if left:
        raise refusal(left)
    return stored_audit()


def test_warnings_show_on_the_check_page_each_with_a_box_to_tick():
    with web(fakes_recording(**{"audit.submit": audit_api})) as client:
        sign_in(client, "S0003")
        on_check_page(client)
        answer = client.post("/audits/new/check", data={"csrf_token": csrf(client, "/audits/new")})
    soup = page(answer)
    assert answer.status_code == 422
    assert text(soup, ".govuk-error-summary__title") == "Check these answers"
    summary = [
        (li.get_text(strip=True), li.a["href"]) for li in soup.select(".govuk-error-summary li")
    ]
    assert summary == [
        (
            f"Learning point {number}: this looks like it holds a person's name: write about "
            "practice using the case reference only",
            "#confirmed-personal_data",
        )
        for number in (2, 3)
    ] + [
        (
            "Overall grade: the overall grade is good but every domain is graded at least 2 "
            "grades worse: check the grades",
            "#confirmed-overall_grade_against_domains",
        ),
    ]
    form = soup.select_one("form[action='/audits/new/check']")
    warnings = [text(w, ".govuk-warning-text__text") for w in form.select(".qa-confirmation")]
    assert warnings[0].endswith(
        "Learning point 2: this looks like it holds a person's name: "
        "write about practice using the case reference only"
    )
    boxes = form.select("input[type=checkbox][name=confirmed]")
    assert [box["value"] for box in boxes] == ["personal_data", "overall_grade_against_domains"]
    assert [text(form, f"label[for='{box['id']}']") for box in boxes] == [KEEP, KEEP]
    assert boxes[0]["id"] == "confirmed-personal_data"


def test_ticking_every_box_sends_the_codes_and_records_the_audit():
    fakes = fakes_recording(**{"audit.submit": audit_api})
    with web(fakes) as client:
        sign_in(client, "S0003")
        on_check_page(client)
        token = csrf(client, "/audits/new")
        client.post("/audits/new/check", data={"csrf_token": token})
        recorded = client.post(
            "/audits/new/check",
            data={
                "csrf_token": token,
                "confirmed": ["personal_data", "overall_grade_against_domains"],
            },
        )
    assert recorded.status_code == 303
    assert recorded.headers["location"] == "/audits/AUD-0001/recorded"
    (first, key), (confirmed, key_again) = submissions(fakes)
    assert (first["confirmed"], key) == ([], key_again)
    assert confirmed["confirmed"] == ["personal_data", "overall_grade_against_domains"]


def test_a_box_left_unticked_keeps_its_warning_and_the_ticked_one_stays_ticked():
    with web(fakes_recording(**{"audit.submit": audit_api})) as client:
        sign_in(client, "S0003")
        on_check_page(client)
        token = csrf(client, "/audits/new")
        answer = client.post(
            "/audits/new/check", data={"csrf_token": token, "confirmed": ["personal_data"]}
        )
    soup = page(answer)
    assert answer.status_code == 422
    boxes = soup.select("input[name=confirmed]")
    assert [box["value"] for box in boxes] == ["overall_grade_against_domains"]
    assert not boxes[0].has_attr("checked")


def test_the_check_page_has_no_warnings_before_anything_was_sent():
    with web(fakes_recording()) as client:
        sign_in(client, "S0003")
        on_check_page(client)
        soup = page(client.get("/audits/new/check"))
    assert soup.select(".govuk-error-summary, .qa-confirmation, input[name=confirmed]") == []
