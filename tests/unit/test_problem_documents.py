"""Every error answer is an RFC 9457 problem document, asserted field by field, on the audit
service as it runs (its guard, size limit and error answers), with a sentence a person can act
on: what a case reference looks like, a text refused by its length without echoing it, a
British date answered with the ISO form of the same day."""

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.audit.app import create_app
from services.audit.settings import AuditSettings
from shared.auth import INVALID_TOKEN, MISSING_TOKEN
from shared.clock import FixedClock
from shared.errors import PROBLEM_JSON, Conflict, install_error_answers
from shared.http import too_large
from shared.migrations import upgrade
from tests.support import problem_document
from tests.tokens import bearer
from tests.unit.audit.test_audit_api import body

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = AuditSettings(
        kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path, max_request_bytes=20_000
    )
    upgrade("audit", settings.resolved_database_url)
    app = create_app(settings, FixedClock(NOW))
    yield TestClient(app, headers=bearer("S0003"), raise_server_exceptions=False)
    app.state.runtime.engine.dispose()


def problem_of(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    return answer.json()


def test_401_without_a_token_and_with_a_bad_one(client):
    answer = client.get("/audits/AUD-1", headers={"Authorization": ""})
    assert problem_of(answer, 401) == problem_document(401, MISSING_TOKEN)
    bad = client.get("/audits/AUD-1", headers={"Authorization": "Bearer not-a-token"})
    assert problem_of(bad, 401) == problem_document(401, INVALID_TOKEN)


def test_403_for_a_route_the_caller_has_no_role_for(client):
    answer = client.post("/audits", json=body(), headers=bearer("S0006"))  # a practitioner
    assert problem_of(answer, 403) == problem_document(
        403, "POST /audits needs one of these roles: auditor"
    )


def test_404_names_what_is_missing_and_a_route_that_does_not_exist(client):
    assert problem_of(client.get("/audits/AUD-none"), 404) == problem_document(
        404, "no audit 'AUD-none'"
    )
    assert problem_of(client.get("/no-such-page"), 404) == problem_document(
        404, "there is nothing at this address: check it against the API documentation"
    )


def test_405_says_which_methods_the_address_takes(client):
    answer = client.delete("/audits")
    assert problem_of(answer, 405) == problem_document(
        405, f"this address does not take DELETE; it takes {answer.headers['allow']}"
    )


def test_409_says_what_stands_in_the_way():
    # The second reflective conversation's 409, which names the one held and when, is asserted
    # on the scheduler's own routes (tests/unit/scheduler/test_followup_api.py).
    app = FastAPI()
    install_error_answers(app)

    @app.post("/programme")
    def draw() -> None:
        raise Conflict("the programme of 2026-11 is already drawn")

    answer = TestClient(app).post("/programme")
    assert problem_of(answer, 409) == problem_document(
        409, "the programme of 2026-11 is already drawn"
    )


def test_413_says_the_limit(client):
    answer = client.post("/audits", content=b"x" * 30_000, headers={"content-type": "text/plain"})
    document = problem_of(answer, 413)
    assert set(document) == {"type", "title", "status", "detail"}
    assert (document["type"], document["title"], document["status"]) == (
        "about:blank",
        "Request Entity Too Large",
        413,
    )
    assert document["detail"] == too_large(20_000)
    assert "20,000 bytes" in document["detail"]


def test_422_for_a_malformed_body_names_each_field_and_says_what_a_case_reference_looks_like(
    client,
):
    answer = client.post("/audits", json=body(case_id="case 12 <b>", overall_grade="great"))
    document = problem_of(answer, 422)
    assert document["detail"] == "2 fields need attention: case_id, overall_grade"
    by_field = {entry["field"]: entry for entry in document["errors"]}
    assert by_field["case_id"] == {
        "loc": ["body", "case_id"],
        "field": "case_id",
        "msg": "a case reference looks like CASE-000123: letters, digits, '.', '_', ':' and '-' "
        "only, starting with a letter or digit",
        "type": "string_pattern_mismatch",
    }
    assert "^" not in answer.text  # no regular expression
    assert "case 12" not in answer.text  # nor the value sent
    assert by_field["overall_grade"]["msg"].startswith("should be one of: ")


def test_422_for_a_broken_rule_names_the_field(client):
    answer = client.post("/audits", json=body(team_id="NOWHERE-1"))
    assert problem_of(answer, 422) == problem_document(
        422,
        "team_id: unknown team 'NOWHERE-1'",
        [
            {
                "loc": ["body", "team_id"],
                "field": "team_id",
                "msg": "unknown team 'NOWHERE-1'",
                "type": "audit_rule",
            }
        ],
    )


def test_an_over_long_text_is_refused_by_its_length_without_echoing_it(client):
    text = "The child said " + "words " * 400  # 2,415 characters; notes hold 2,000
    answer = client.post("/audits", json=body(voice_of_child={"evidenced": True, "note": text}))
    document = problem_of(answer, 422)
    [entry] = document["errors"]
    assert entry["field"] == "voice_of_child.note"
    assert entry["msg"] == f"is {len(text):,} characters; at most 2,000"
    assert entry["ctx"] == {"max_length": 2000}
    assert "The child said" not in answer.text
    assert "words words" not in answer.text


class Held(BaseModel):
    held_on: date


def test_a_british_date_is_answered_with_the_same_day_in_iso_form():
    app = FastAPI()
    install_error_answers(app)

    @app.post("/held")
    def held(given: Held) -> Held:
        return given

    client = TestClient(app)
    answer = client.post("/held", json={"held_on": "03/12/2026"})
    [entry] = problem_of(answer, 422)["errors"]
    assert entry["msg"] == "use 2026-12-03 (ISO 8601: year-month-day)"
    nonsense = client.post("/held", json={"held_on": "31/02/2026"})
    assert nonsense.json()["errors"][0]["msg"] == "use an ISO 8601 date like 2026-11-25"
    assert client.post("/held", json={"held_on": "2026-12-03"}).status_code == 200


def test_500_leaks_nothing_of_the_fault():
    app = FastAPI()
    install_error_answers(app)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: CASE-123 at /srv/app.py line 9")

    answer = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert problem_of(answer, 500) == problem_document(
        500,
        "something went wrong on our side; try again, and if it happens again tell the service "
        "desk the time it happened",
    )
    assert "CASE-123" not in answer.text
    assert "secret" not in answer.text
