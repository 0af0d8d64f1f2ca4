"""The one HTTP mechanism of the web front's clients: how an API's refusals are read."""

import httpx
import pytest

from services.web.clients.api import Api, ApiError

NEEDS_CONFIRMATION = [
    {
        "loc": ["body", "could_be_better_if[1]"],
        "field": "could_be_better_if[1]",
        "msg": "this looks like it holds a person's name: write about practice using the "
        "case reference only; to keep it as it is, confirm 'personal_data'",
        "type": "needs_confirmation",
        "ctx": {"confirm": "personal_data"},
    },
    {
        "loc": ["body", "could_be_better_if[2]"],
        "field": "could_be_better_if[2]",
        "msg": "this looks like it holds a person's name: write about practice using the "
        "case reference only; to keep it as it is, confirm 'personal_data'",
        "type": "needs_confirmation",
        "ctx": {"confirm": "personal_data"},
    },
    {
        "loc": ["body", "overall_grade"],
        "field": "overall_grade",
        "msg": "the overall grade is good but every domain is graded at least 2 grades "
        "worse: check the grades; to keep it as it is, confirm "
        "'overall_grade_against_domains'",
        "type": "needs_confirmation",
        "ctx": {"confirm": "overall_grade_against_domains"},
    },
]
A_REFUSAL = {
    "loc": ["body", "team_id"],
    "field": "team_id",
    "msg": "unknown team 'X-1'",
    "type": "audit_rule",
}


def problem(status: int, detail: str, **extensions) -> dict:
    """An error answer as the APIs send it (shared.errors)."""
    title = {404: "Not Found", 409: "Conflict", 422: "Unprocessable Content"}[status]
    return {"type": "about:blank", "title": title, "status": status, "detail": detail} | extensions


def answered(status: int, document: dict) -> ApiError:
    api = Api(
        "http://audit.invalid",
        "token",
        timeout=1,
        transport=httpx.MockTransport(
            lambda _request: httpx.Response(
                status, json=document, headers={"Content-Type": "application/problem+json"}
            )
        ),
    )
    with pytest.raises(ApiError) as refused:
        api.send("POST", "/audits", {})
    return refused.value


def refusal(entries: list[dict]) -> ApiError:
    """The API's 422 naming these fields."""
    return answered(422, problem(422, f"{len(entries)} fields need attention", errors=entries))


def test_warnings_to_confirm_carry_their_codes_and_messages_without_the_api_instructions():
    error = refusal(NEEDS_CONFIRMATION)
    assert error.needs_confirmation
    assert error.codes == {
        "could_be_better_if[1]": "personal_data",
        "could_be_better_if[2]": "personal_data",
        "overall_grade": "overall_grade_against_domains",
    }
    assert error.confirmations["overall_grade"] == (
        "the overall grade is good but every domain is graded at least 2 grades worse: "
        "check the grades"
    )
    # Pages that do not offer confirming still show the warnings as field messages.
    assert error.fields == error.confirmations


def test_warnings_are_grouped_by_code_each_message_once_labelled_by_field():
    warnings = refusal(NEEDS_CONFIRMATION).to_confirm({"overall_grade": "Overall grade"})
    assert warnings == [
        {
            "code": "personal_data",
            "messages": [
                "This looks like it holds a person's name: write about practice using the "
                "case reference only"
            ],
        },
        {
            "code": "overall_grade_against_domains",
            "messages": [
                "Overall grade: the overall grade is good but every domain is graded at least "
                "2 grades worse: check the grades"
            ],
        },
    ]


def test_a_refusal_among_warnings_is_not_settled_by_confirming():
    error = refusal([*NEEDS_CONFIRMATION, A_REFUSAL])
    assert not error.needs_confirmation
    assert error.fields["team_id"] == "unknown team 'X-1'"


def test_refusals_alone_have_nothing_to_confirm():
    error = refusal([A_REFUSAL])
    assert (error.fields, error.codes, error.needs_confirmation) == (
        {"team_id": "unknown team 'X-1'"},
        {},
        False,
    )


def test_a_refusal_without_fields_is_its_sentence():
    detail = "follow-up FU-1 already has its reflective conversation, held on 25 November 2026"
    error = answered(409, problem(409, detail))
    assert (error.status, error.detail, error.fields) == (409, detail, {})


def test_a_422_with_no_field_named_is_its_sentence_too():
    error = answered(422, problem(422, "to_month is before from_month", errors=[]))
    assert (error.status, error.detail, error.fields) == (422, "to_month is before from_month", {})


def test_an_answer_that_is_not_json_is_its_reason_phrase():
    api = Api(
        "http://audit.invalid",
        "token",
        timeout=1,
        transport=httpx.MockTransport(lambda _request: httpx.Response(502, text="<html>")),
    )
    with pytest.raises(ApiError) as refused:
        api.get("/audits")
    assert (refused.value.status, refused.value.detail) == (502, "Bad Gateway")
