"""The access trail misses no read: answers of any size, requests that fail, machine callers."""

from datetime import UTC, datetime

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from shared.access import AccessControl
from shared.access_trail import AccessRecord, AccessTrailMiddleware, case_references
from shared.clock import FixedClock
from shared.db import create_db_engine, transaction
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.permissions import EVERYONE
from tests.tokens import ISSUER, bearer, service_bearer

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ROUTES = ("GET /audits", "GET /cases/{case_id}/audits", "POST /audits")
MANY = 4_000  # with FILLER, an answer of about 4.5 MiB: beyond what the trail once read
FILLER = "x" * 1100


class Broken(Exception):
    """A handler's failure after it has read the records."""


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade("audit", url)
    return create_db_engine(url)


@pytest.fixture
def client(engine):
    router = APIRouter()

    @router.get("/audits")
    async def many() -> list[dict[str, str]]:
        return [{"case_id": f"CASE-{n}", "note": FILLER} for n in range(MANY)]

    @router.get("/cases/{case_id}/audits")
    async def raises(case_id: str) -> dict[str, str]:
        raise Broken(case_id)

    @router.post("/audits")
    async def fails(body: dict[str, str]) -> dict[str, str]:
        raise Broken(body["case_id"])

    app = FastAPI()
    control = AccessControl(
        dict.fromkeys(ROUTES, EVERYONE),
        ISSUER.verifier(),
        load_organisation(),
        {"reporting": frozenset({"GET /audits"})},
    )
    control.install(app)
    app.include_router(router, dependencies=[Depends(control.guard)])
    app.add_middleware(AccessTrailMiddleware, engine=engine, clock=FixedClock(NOW))
    return TestClient(app, raise_server_exceptions=False)


def trail(engine) -> list[tuple[str, str, str | None, int]]:
    with transaction(engine) as session:
        rows = session.exec(select(AccessRecord).order_by(col(AccessRecord.id))).all()
        return [(r.who, r.path, r.case_id, r.outcome) for r in rows]


def test_a_list_answer_over_4_mib_is_trailed_with_every_case_it_names(client, engine):
    answer = client.get("/audits", headers=bearer("S0003"))
    assert answer.status_code == 200
    assert len(answer.content) > 4 * 1024 * 1024
    rows = trail(engine)
    assert len(rows) == MANY
    assert {case for _, _, case, _ in rows} == {f"CASE-{n}" for n in range(MANY)}


def test_a_handler_that_raises_leaves_a_row_with_the_case_its_path_names(client, engine):
    assert client.get("/cases/CASE-9/audits", headers=bearer("S0003")).status_code == 500
    assert (
        client.get("/cases/CASE-9/audits?case_id=CASE-8", headers=bearer("S0003")).status_code
        == 500
    )
    assert trail(engine) == [
        ("S0003", "/cases/CASE-9/audits", "CASE-9", 500),
        ("S0003", "/cases/CASE-9/audits", "CASE-9", 500),
        ("S0003", "/cases/CASE-9/audits", "CASE-8", 500),
    ]


def test_a_failed_write_leaves_a_row_with_the_case_its_body_names(client, engine):
    posted = client.post("/audits", json={"case_id": "CASE-7"}, headers=bearer("S0003"))
    assert posted.status_code == 500
    assert trail(engine) == [("S0003", "/audits", "CASE-7", 500)]


def test_what_a_failing_request_names_is_kept_only_when_it_could_be_a_case_reference(
    client, engine
):
    client.post("/audits", json={"case_id": "x" * 65}, headers=bearer("S0003"))
    client.post("/audits", json={"case_id": "CASE\x00-1"}, headers=bearer("S0003"))
    assert trail(engine) == [("S0003", "/audits", None, 500)] * 2


def test_a_machine_caller_is_trailed_by_its_tokens_subject(client, engine):
    assert client.get("/audits", headers=service_bearer("reporting")).status_code == 200
    assert client.get("/audits", headers=service_bearer("stranger")).status_code == 403
    rows = trail(engine)
    assert {who for who, *_ in rows[:-1]} == {"reporting"}
    assert rows[-1] == ("stranger", "/audits", None, 403)
    assert "unchecked" not in {who for who, *_ in rows}


def test_case_references_are_found_at_any_depth():
    deep: object = {"case_id": "CASE-1"}
    for _ in range(5000):
        deep = [deep]
    assert list(case_references(deep)) == ["CASE-1"]
