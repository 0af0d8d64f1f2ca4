"""Input no field can hold (NUL bytes, NaN and Infinity) answers 422 naming the field, once for
every route, on a small app hardened as every service is (`shared.http.harden`)."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.hostile_input import NON_FINITE_MESSAGE, NUL_MESSAGE, json_problems
from shared.http import harden


class Note(BaseModel):
    text: str = "ok"
    rate: float = 0.5
    actions: list[str] = []


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()

    @app.get("/audits/{audit_id}")
    def one(audit_id: str, case_id: str | None = None) -> dict[str, str | None]:
        return {"id": audit_id, "case_id": case_id}

    @app.post("/audits/{audit_id}/notes")
    def note(audit_id: str, body: Note) -> Note:
        return body

    harden(app, max_request_bytes=1000)
    return TestClient(app)


def problems(answer) -> list[tuple[list[object], str]]:
    assert answer.status_code == 422, answer.text
    return [(entry["loc"], entry["msg"]) for entry in answer.json()["errors"]]


def test_a_nul_byte_in_a_path_parameter_is_refused_naming_it(client):
    assert problems(client.get("/audits/AUD-1%00x")) == [(["path", "audit_id"], NUL_MESSAGE)]


def test_a_nul_byte_in_a_query_value_is_refused_naming_it(client):
    answer = client.get("/audits/AUD-1", params={"case_id": "CASE\x001"})
    assert problems(answer) == [(["query", "case_id"], NUL_MESSAGE)]
    assert problems(client.get("/audits/AUD-1?case_id=CASE%001")) == [
        (["query", "case_id"], NUL_MESSAGE)
    ]


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ('{"text": "a\\u0000b"}', ["body", "text"], NUL_MESSAGE),
        ('{"actions": ["fine", "not\\u0000fine"]}', ["body", "actions", 1], NUL_MESSAGE),
        ('{"rate": NaN}', ["body", "rate"], NON_FINITE_MESSAGE),
        ('{"rate": Infinity}', ["body", "rate"], NON_FINITE_MESSAGE),
        ('{"rate": -Infinity}', ["body", "rate"], NON_FINITE_MESSAGE),
        ('{"rate": 1e999}', ["body", "rate"], NON_FINITE_MESSAGE),
    ],
    ids=["nul in a string", "nul in a list item", "nan", "infinity", "-infinity", "overflow"],
)
def test_hostile_json_is_refused_naming_the_field(client, body, where, message):
    answer = client.post(
        "/audits/AUD-1/notes", content=body, headers={"content-type": "application/json"}
    )
    assert problems(answer) == [(where, message)]
    assert "input" not in answer.json()["errors"][0]  # the hostile value is not echoed


def test_a_nul_byte_in_a_field_name_is_refused_too():
    assert json_problems(b'{"a": {"b\\u0000": 1}}') == [
        (("body", "a"), f"a field name: {NUL_MESSAGE}")
    ]


def test_every_problem_of_a_body_is_named_at_once():
    found = json_problems(b'{"a": NaN, "b": ["x\\u0000"], "c": {"d": Infinity}}')
    assert found == [
        (("body", "a"), NON_FINITE_MESSAGE),
        (("body", "b", 0), NUL_MESSAGE),
        (("body", "c", "d"), NON_FINITE_MESSAGE),
    ]


def test_sound_input_reaches_the_route_unchanged(client):
    body = {"text": "Record the child's wishes", "rate": 0.25, "actions": ["visit"]}
    answer = client.post("/audits/AUD-1/notes", json=body)
    assert (answer.status_code, answer.json()) == (200, body)
    assert client.get("/audits/AUD-1", params={"case_id": "CASE-1"}).json()["case_id"] == "CASE-1"


def test_malformed_json_is_left_to_fastapis_own_answer(client):
    answer = client.post(
        "/audits/AUD-1/notes", content="{not json", headers={"content-type": "application/json"}
    )
    assert answer.json()["detail"][0]["type"] == "json_invalid"


def test_an_oversized_body_is_still_refused_with_413_while_read(client):
    def chunks():  # no Content-Length: counted while the hostile-input check reads it
        for _ in range(30):
            yield b"x" * 100

    answer = client.post(
        "/audits/AUD-1/notes", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413


def test_every_answer_carries_the_security_headers(client):
    for answer in (
        client.get("/audits/AUD-1"),
        client.get("/audits/AUD-1%00"),
        client.post("/audits/AUD-1/notes", content=b"x" * 2000),
        client.get("/nowhere"),
    ):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert (
            answer.headers["Content-Security-Policy"]
            == "default-src 'none'; frame-ancestors 'none'"
        )
        assert answer.headers["Cache-Control"] == "no-store"
