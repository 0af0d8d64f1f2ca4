from fastapi import FastAPI
from fastapi.testclient import TestClient

import shared.metrics  # noqa: F401 (registers the platform's metrics, as every service does)
from shared.http import database_check, ops_router


async def down() -> bool:
    raise ConnectionError("broker unreachable")


def client(checks) -> TestClient:
    app = FastAPI()
    app.include_router(ops_router(checks))
    return TestClient(app)


def test_ready_when_every_dependency_answers(sqlite_engine):
    response = client({"database": database_check(sqlite_engine)}).get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True}}


def test_not_ready_names_the_dependency_that_is_down(sqlite_engine):
    response = client({"database": database_check(sqlite_engine), "broker": down}).get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "broker": False}


def test_health_and_metrics_answer_without_dependencies():
    test_client = client({"broker": down})
    assert test_client.get("/health").json() == {"status": "ok"}
    metrics = test_client.get("/metrics")
    assert metrics.status_code == 200
    assert "qa_dead_letters_total" in metrics.text
