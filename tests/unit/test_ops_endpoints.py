import importlib
import re

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient

import shared.metrics  # noqa: F401 (registers the platform's metrics, as every service does)
from services.catalogue import BY_NAME, SERVICE_NAMES
from shared.dependency_state import Dependency
from shared.http import database_check, ops_router


async def down() -> bool:
    raise ConnectionError("broker unreachable")


def dependencies() -> dict[str, Dependency]:
    """This test's own states, so that no other test's outage is seen here."""
    return {name: Dependency(name) for name in ("database", "broker")}


def client(checks, states: dict[str, Dependency] | None = None) -> TestClient:
    app = FastAPI()
    app.include_router(ops_router(checks, dependencies() if states is None else states))
    return TestClient(app)


def test_ready_when_every_dependency_answers_with_each_ones_state(sqlite_engine):
    response = client({"database": database_check(sqlite_engine)}).get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": True},
        "dependencies": {"database": {"up": True}},
    }


def test_not_ready_is_a_problem_document_naming_the_dependency_that_is_down(sqlite_engine):
    states = dependencies()
    checks = {"database": database_check(sqlite_engine), "broker": down}
    response = client(checks, states).get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["title"]) == (503, "Service Unavailable")
    assert body["detail"] == "not ready: broker is unavailable"
    assert body["down"] == ["broker"]
    assert body["checks"] == {"database": True, "broker": False}
    assert body["dependencies"]["database"] == {"up": True}
    assert body["dependencies"]["broker"]["up"] is False
    assert body["dependencies"]["broker"]["error"] == "ConnectionError"
    assert not states["broker"].up  # what /ready found is the broker's state, and its metric


def test_ready_again_once_the_dependency_is_back(sqlite_engine):
    states = dependencies()
    answers = {"broker": False}

    async def broker() -> bool:
        return answers["broker"]

    test_client = client({"broker": broker}, states)
    assert test_client.get("/ready").json()["dependencies"]["broker"]["error"] == "NoAnswer"
    answers["broker"] = True
    assert test_client.get("/ready").status_code == 200
    assert states["broker"].up


def test_health_and_metrics_answer_without_dependencies():
    test_client = client({"broker": down})
    assert test_client.get("/health").json() == {"status": "ok"}
    metrics = test_client.get("/metrics")
    assert metrics.status_code == 200
    assert "qa_dead_letters_total" in metrics.text


# --- API documentation: rendered from the service itself, with no internet -----------------


def service_client(service: str, tmp_path, root_path: str = "") -> TestClient:
    """The service's app as it would run, not started (nothing connects to Kafka)."""
    app_module = importlib.import_module(f"services.{service}.app")
    settings = BY_NAME[service].settings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    return TestClient(app_module.create_app(settings), root_path=root_path)


def loaded_urls(html: str) -> list[str]:
    """What a browser would fetch to show the page: scripts, styles, icons, the spec."""
    soup = BeautifulSoup(html, "html.parser")
    urls = [tag["src"] for tag in soup.find_all(src=True)]
    urls += [tag["href"] for tag in soup.find_all("link", href=True)]
    urls += [tag["spec-url"] for tag in soup.find_all(attrs={"spec-url": True})]
    urls += re.findall(r"url: '([^']+)'", html)  # Swagger UI's OpenAPI document
    return urls


@pytest.mark.parametrize("service", SERVICE_NAMES)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_load_everything_from_the_service_itself(service, page, tmp_path):
    client = service_client(service, tmp_path)
    answer = client.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://|//cdn|fonts\.googleapis", answer.text)
    urls = loaded_urls(answer.text)
    assert "/openapi.json" in urls
    assert any(url.endswith(".js") for url in urls)
    for url in urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        fetched = client.get(url)
        assert fetched.status_code == 200, url
        assert fetched.content, url
    if page == "/docs":
        assert '"validatorUrl": null' in answer.text, "no document sent to an online validator"


def test_docs_assets_have_their_types_and_unknown_ones_are_not_found(tmp_path):
    client = service_client("audit", tmp_path)
    # The bundles hold UTF-8 text a browser would misread (and refuse to run) as Latin-1.
    types = {
        "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
        "swagger-ui.css": "text/css; charset=utf-8",
        "redoc.standalone.js": "text/javascript; charset=utf-8",
        "favicon.png": "image/png",
    }
    for name, media_type in types.items():
        answer = client.get(f"/docs-assets/{name}")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == media_type
        assert "max-age" in answer.headers["cache-control"]
    assert b"SwaggerUIBundle" in client.get("/docs-assets/swagger-ui-bundle.js").content
    assert client.get("/docs-assets/../settings.py").status_code == 404
    assert client.get("/docs-assets/nothing.js").status_code == 404


def test_docs_behind_a_path_prefix_load_their_assets_under_it(tmp_path):
    client = service_client("scheduler", tmp_path, root_path="/scheduler")
    urls = loaded_urls(client.get("/docs").text)
    assert urls
    assert all(url.startswith("/scheduler/") for url in urls), urls
