"""The guard, the access trail and the size limit on a small app, with SQLite underneath."""

import logging
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from services.audit.service import SERVICE as AUDIT
from shared.access import AccessControl, CurrentCaller
from shared.access_trail import (
    AccessRecord,
    AccessTrailMiddleware,
    access_trail_router,
    purge_access_trail,
)
from shared.auth import INVALID_TOKEN, MISSING_TOKEN
from shared.clock import FixedClock
from shared.db import create_db_engine, transaction
from shared.http import LimitRequestSize
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.visibility import AuditPeople, require_visible
from tests.support import problem_document
from tests.tokens import ISSUER, bearer, service_bearer

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
MACHINES = {
    "scheduler": frozenset({"GET /audits", "GET /audits/{audit_id}"}),
    "qa-tests": frozenset({"GET /audits"}),
}


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade("audit", url)
    return create_db_engine(url)


@pytest.fixture
def client(engine):
    # Borrow the audit service's table entries for two tiny routes of our own.
    router = APIRouter()

    @router.get("/audits/{audit_id}")
    async def one(audit_id: str, caller: CurrentCaller) -> dict[str, object]:
        require_visible(caller, AuditPeople("early_help", auditor_id="S0003"), "this audit")
        return {"id": audit_id, "case_id": "CASE-1", "read_by": caller.id}

    @router.get("/audits")
    async def many() -> list[dict[str, str]]:
        return [{"case_id": "CASE-1"}, {"case_id": "CASE-2"}, {"case_id": "CASE-1"}]

    @router.post("/audits")
    async def submit(body: dict[str, str]) -> dict[str, str]:
        return body

    @router.get("/undeclared")
    async def undeclared() -> dict[str, str]:
        return {}

    app = FastAPI()
    control = AccessControl(
        AUDIT.route_permissions, ISSUER.verifier(), load_organisation(), machine_clients=MACHINES
    )
    control.install(app)
    for r in (router, access_trail_router(engine)):
        app.include_router(r, dependencies=[Depends(control.guard)])
    app.add_middleware(AccessTrailMiddleware, engine=engine, clock=FixedClock(NOW))
    app.add_middleware(LimitRequestSize, max_bytes=1000)
    return TestClient(app)


def trail(engine) -> list[tuple[str, str, str | None, int]]:
    with transaction(engine) as session:
        rows = session.exec(select(AccessRecord).order_by(AccessRecord.id)).all()  # type: ignore[arg-type]
        return [(r.who, r.action, r.case_id, r.outcome) for r in rows]


def test_a_refusal_keeps_the_record_asked_for(client, engine):
    client.get("/audits/AUD-42", headers=bearer("S0006"))
    with transaction(engine) as session:
        [row] = session.exec(select(AccessRecord)).all()
    assert (row.who, row.path, row.case_id, row.outcome) == ("S0006", "/audits/AUD-42", None, 403)


def test_missing_and_bad_tokens_answer_401_with_fixed_text_and_log_why(client, caplog):
    missing = client.get("/audits/A1")
    assert (missing.status_code, missing.json()["detail"]) == (401, MISSING_TOKEN)
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    expired_token = ISSUER.mint("S0003", issued_at=time.time() - 7200, ttl_seconds=60)
    with caplog.at_level(logging.INFO, logger="shared.access"):
        expired = client.get("/audits/A1", headers={"Authorization": f"Bearer {expired_token}"})
    wrong = client.get("/audits/A1", headers=bearer("S0003", audience="other"))
    for refused in (expired, wrong):
        assert (refused.status_code, refused.json()) == (401, problem_document(401, INVALID_TOKEN))
        assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert "GET /audits/{audit_id}: token expired" in caplog.text
    assert expired_token not in caplog.text


def hostile(header: dict[str, object], algorithm: str = "RS256") -> str:
    key = ISSUER.private_key_file.read_bytes() if algorithm == "RS256" else "a-shared-secret" * 3
    claims = {"sub": "S9001", "iss": ISSUER.issuer, "aud": "qa-platform", "iat": 1, "exp": 2**31}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": ISSUER.key_id, **header})


@pytest.mark.parametrize(
    ("token", "echo"),
    [
        (hostile({"crit": ["x-probe-<b>"], "x-probe-<b>": 1}), "x-probe"),
        (hostile({}, algorithm="HS256"), "HS256"),
        (hostile({"kid": "kid-<script>"}), "kid-"),
        ("eyJhbGciOiJub25lIn0.e30.", "none"),
    ],
    ids=["crit header", "another algorithm", "unknown key id", "unsigned"],
)
def test_a_refused_token_is_answered_without_echoing_anything_of_it(client, token, echo):
    answer = client.get("/audits/A1", headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.json()) == (401, problem_document(401, INVALID_TOKEN))
    assert echo not in answer.text
    assert echo not in str(answer.headers)


def test_a_machine_caller_calls_only_the_routes_listed_for_it(client):
    assert client.get("/audits/A1", headers=service_bearer("scheduler")).status_code == 200
    assert client.get("/audits", headers=service_bearer("qa-tests")).status_code == 200
    refused = client.get("/audits/A1", headers=service_bearer("qa-tests"))
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "machine caller 'qa-tests' may not call GET /audits/{audit_id}: it is not among the "
        "routes MACHINE_CLIENTS lists for it"
    )


def test_a_machine_caller_the_deployment_does_not_list_is_refused_everywhere(client):
    for path in ("/audits", "/audits/A1"):
        refused = client.get(path, headers=service_bearer("reporting"))
        assert refused.status_code == 403
        assert "'reporting' is not one of the machine callers" in refused.json()["detail"]


def test_the_wrong_role_answers_403_naming_the_roles_needed(client):
    practitioner = client.post("/audits", json={"note": "mine"}, headers=bearer("S0006"))
    assert practitioner.status_code == 403
    assert practitioner.json()["detail"] == "POST /audits needs one of these roles: auditor"
    assert client.get("/audits/A1", headers=bearer("S0003")).json()["read_by"] == "S0003"


def test_a_record_out_of_the_callers_scope_answers_403_saying_why(client):
    refused = client.get("/audits/A1", headers=bearer("S0006"))
    assert refused.status_code == 403
    assert "not yours to see" in refused.json()["detail"]


def test_a_route_without_a_declared_permission_is_refused_to_everyone(client):
    for headers in (bearer("S9001"), service_bearer()):
        answer = client.get("/undeclared", headers=headers)
        assert answer.status_code == 403
        assert answer.json()["detail"] == "no permission is declared for GET /undeclared"


def test_reads_and_refusals_are_written_to_the_trail_once_per_case(client, engine):
    client.get("/audits/A1", headers=bearer("S0003"))
    client.get("/audits", headers=service_bearer("scheduler"))
    client.get("/audits/A1", headers=bearer("S0006"))
    client.get("/audits/A1")
    assert trail(engine) == [
        ("S0003", "GET /audits/{audit_id}", "CASE-1", 200),
        ("scheduler", "GET /audits", "CASE-1", 200),
        ("scheduler", "GET /audits", "CASE-2", 200),
        ("S0006", "GET /audits/{audit_id}", None, 403),
        ("unauthenticated", "GET /audits/{audit_id}", None, 401),
    ]


def test_only_admins_read_the_trail_and_nobody_can_change_it(client):
    client.get("/audits/A1", headers=bearer("S0003"))
    assert client.get("/access-trail", headers=bearer("S0003")).status_code == 403
    rows = client.get("/access-trail", params={"case_id": "CASE-1"}, headers=bearer("S9001"))
    assert [(r["who"], r["role"], r["case_id"]) for r in rows.json()] == [
        ("S0003", "auditor+head_of_service", "CASE-1")
    ]
    for method in ("PUT", "POST", "DELETE", "PATCH"):
        assert client.request(method, "/access-trail", headers=bearer("S9001")).status_code == 405


def test_no_answer_leaves_when_its_trail_cannot_be_written(client, engine):
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE access_trail")
    answer = client.get("/audits/A1", headers=bearer("S0003"))
    assert answer.status_code == 503
    assert "CASE-1" not in answer.text


def test_oversized_bodies_are_refused_with_413(client):
    big = {"note": "x" * 2000}
    assert client.post("/audits", json=big, headers=bearer("S0003")).status_code == 413

    def chunks():  # no Content-Length: counted while read
        yield b'{"note": "'
        for _ in range(30):
            yield b"x" * 100
        yield b'"}'

    streamed = client.post(
        "/audits",
        content=chunks(),
        headers={**bearer("S0003"), "content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert client.post("/audits", json={"note": "ok"}, headers=bearer("S0003")).status_code == 200


def test_the_purge_deletes_only_rows_past_retention(client, engine):
    client.get("/audits/A1", headers=bearer("S0003"))
    assert purge_access_trail(engine, NOW + timedelta(days=729), keep_days=730) == 0
    assert purge_access_trail(engine, NOW + timedelta(days=731), keep_days=730) == 1
    assert trail(engine) == []
