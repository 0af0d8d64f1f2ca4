"""A dependency that cannot be reached is a 503 with Retry-After and a problem document on
every route of every service, never a 500 in plain text."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError

from services.audit.app import create_app
from services.audit.settings import AuditSettings
from shared.errors import install_error_answers
from tests.tokens import bearer

pytestmark = pytest.mark.unit

UNREACHABLE = "postgresql://qa:x@127.0.0.1:1/audit?connect_timeout=2"  # nothing listens on 1


def test_the_audit_service_with_its_database_down_answers_503_to_reads_and_writes():
    app = create_app(AuditSettings(kafka_bootstrap_servers="127.0.0.1:9", database_url=UNREACHABLE))
    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: no broker either
    answers = [
        client.get("/audits", headers=bearer("S0003")),
        client.get("/audits/AUD-1", headers=bearer("S0003")),
        client.post("/audits", json={"case_id": "CASE-1"}, headers=bearer("S0003")),
        client.get("/stats/target", headers=bearer("S0003")),
    ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert (problem["status"], problem["title"]) == (503, "Service Unavailable")
        assert "try again" in problem["detail"]


def app_raising(error: Exception) -> TestClient:
    app = FastAPI()
    install_error_answers(app)

    @app.get("/thing")
    def thing() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, ConnectionRefusedError("refused")),
        ConnectionRefusedError("broker refused"),
        TimeoutError("timed out"),
    ],
    ids=["database", "connection", "timeout"],
)
def test_an_unreachable_dependency_is_503_wherever_it_is_raised(error):
    answer = app_raising(error).get("/thing")
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")


def test_a_fault_of_our_own_stays_a_500():
    assert (
        app_raising(IntegrityError("INSERT", {}, Exception("dup"))).get("/thing").status_code == 500
    )
