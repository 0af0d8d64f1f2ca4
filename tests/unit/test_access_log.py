"""The access log: one JSON line per request, route template and correlation id, no case data."""

import json
import logging

import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.testclient import TestClient

from shared.access_log import HEADER, access_fields, correlation_of, install_access_log
from shared.logging import JsonFormatter


def test_the_fields_are_method_route_status_and_milliseconds():
    assert access_fields("GET", "/followups/{followup_id}", 200, 0.01234) == {
        "method": "GET",
        "route": "/followups/{followup_id}",
        "status": 200,
        "duration_ms": 12.3,
    }


def test_a_plain_correlation_id_is_kept_and_anything_else_replaced():
    assert correlation_of("req-7f3a.1:2") == "req-7f3a.1:2"
    for unusable in (None, "", "jo.bloggs@council.example", "x" * 129, "two words"):
        fresh = correlation_of(unusable)
        assert fresh != unusable
        assert len(fresh) == 32


class Lines(logging.Handler):
    """The access log's records as the services write them: JSON lines."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("audit"))
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines():
    handler = Lines()
    logger = logging.getLogger("shared.access_log")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)


BROKER = {"down": False}


@pytest.fixture
def client() -> TestClient:
    router, probes = APIRouter(prefix="/followups"), APIRouter()
    inner = logging.getLogger("qa.test.handler")

    @router.get("/{followup_id}")
    async def followup(followup_id: str) -> dict[str, str]:
        inner.warning("looked up a follow-up")
        return {"id": followup_id}

    @probes.get("/ready")
    async def ready() -> dict[str, str]:
        if BROKER["down"]:
            raise HTTPException(503, "the broker is down")
        return {"status": "ready"}

    @probes.get("/metrics")
    async def metrics() -> str:
        return ""

    @router.get("/{followup_id}/boom")
    async def boom(followup_id: str) -> None:
        raise RuntimeError("the database went away")

    app = FastAPI()
    app.include_router(router)
    app.include_router(probes)
    install_access_log(app)
    return TestClient(app, raise_server_exceptions=False)


def test_one_line_per_request_with_the_route_template_never_the_path_or_query(client, lines):
    response = client.get("/followups/FU-12345?case=CASE-9&name=Jo+Bloggs")

    assert response.status_code == 200
    [line] = lines
    assert line["route"] == "/followups/{followup_id}"
    assert (line["method"], line["status"]) == ("GET", 200)
    assert line["duration_ms"] >= 0
    assert line["message"] == "GET /followups/{followup_id} 200"
    text = json.dumps(line)
    for value in ("FU-12345", "CASE-9", "Jo", "case="):
        assert value not in text


def test_the_callers_correlation_id_tags_the_line_and_comes_back(client, lines):
    response = client.get("/followups/FU-1", headers={HEADER: "req-abc.1"})

    assert response.headers[HEADER] == "req-abc.1"
    assert lines[0]["correlation_id"] == "req-abc.1"


def test_without_one_each_request_gets_its_own_correlation_id(client, lines):
    first = client.get("/followups/FU-1").headers[HEADER]
    second = client.get("/followups/FU-2").headers[HEADER]

    assert first != second
    assert [line["correlation_id"] for line in lines] == [first, second]


def test_a_handler_that_raises_is_logged_as_500_under_its_route(client, lines):
    assert client.get("/followups/FU-1/boom").status_code == 500

    [line] = lines
    assert (line["route"], line["status"]) == ("/followups/{followup_id}/boom", 500)


def test_an_unknown_path_is_logged_under_one_route_without_its_ids(client, lines):
    assert client.get("/cases/CASE-42/notes").status_code == 404

    [line] = lines
    assert (line["route"], line["status"]) == ("none", 404)
    assert "CASE-42" not in json.dumps(line)


def test_what_the_handler_logs_carries_the_same_correlation_id(client, lines):
    handler_lines = Lines()
    logging.getLogger("qa.test.handler").addHandler(handler_lines)
    try:
        correlation = client.get("/followups/FU-1").headers[HEADER]
    finally:
        logging.getLogger("qa.test.handler").removeHandler(handler_lines)

    assert [line["correlation_id"] for line in handler_lines.lines] == [correlation]
    assert lines[0]["correlation_id"] == correlation


def test_probes_and_scrapes_that_succeed_are_not_logged_but_a_failing_probe_is(
    client, lines, monkeypatch
):
    assert client.get("/ready").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert lines == []

    monkeypatch.setitem(BROKER, "down", True)
    assert client.get("/ready").status_code == 503

    [line] = lines
    assert (line["route"], line["status"]) == ("/ready", 503)
