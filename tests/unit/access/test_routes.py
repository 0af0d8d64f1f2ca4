"""Every route of every service declares who may call it, and the guard is really on it."""

import importlib
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.catalogue import BY_NAME, SERVICE_NAMES
from shared.migrations import upgrade
from shared.permissions import PUBLIC
from tests.tokens import bearer

SERVICES = SERVICE_NAMES
PERMISSIONS = {name: service.route_permissions for name, service in BY_NAME.items()}


def build(service: str, tmp_path) -> FastAPI:
    """The service's app as it would run (no lifespan: nothing connects to Kafka)."""
    app_module = importlib.import_module(f"services.{service}.app")
    settings = BY_NAME[service].settings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade(service, settings.resolved_database_url)  # the access trail records refusals too
    return app_module.create_app(settings)


def documented_routes(app: FastAPI) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_in_the_openapi_schema_declares_its_permission(service, tmp_path):
    documented = documented_routes(build(service, tmp_path))
    undeclared = documented - PUBLIC - set(PERMISSIONS[service])
    assert not undeclared, f"{service}: routes without a permission: {sorted(undeclared)}"
    assert set(PERMISSIONS[service]) - documented == set(), "declared routes that do not exist"


@pytest.mark.parametrize("service", SERVICES)
def test_every_declared_route_refuses_a_request_without_a_token(service, tmp_path):
    client = TestClient(build(service, tmp_path))
    answers = {}
    for route in PERMISSIONS[service]:
        method, path = route.split(" ")
        answer = client.request(method, re.sub(r"\{[^}]+\}", "x", path), json={})
        answers[route] = (answer.status_code, answer.json()["detail"])
    assert answers == dict.fromkeys(
        PERMISSIONS[service], (401, "missing bearer token (Authorization: Bearer <token>)")
    )


@pytest.mark.parametrize("service", SERVICES)
def test_public_routes_answer_without_a_token(service, tmp_path):
    app = build(service, tmp_path)
    client = TestClient(app)
    public = sorted(documented_routes(app) & PUBLIC - {"GET /ready"})  # /ready needs Kafka
    assert {"GET /health", "GET /metrics"} <= set(public)
    for route in public:
        method, path = route.split(" ")
        assert client.request(method, path).status_code == 200, route


def first_route(service: str, method: str, with_param: bool) -> str:
    return next(
        path
        for route in sorted(PERMISSIONS[service])
        for m, path in [route.split(" ")]
        if m == method and ("{" in path) == with_param
    )


@pytest.mark.parametrize("service", SERVICES)
def test_hostile_input_answers_422_on_every_service(service, tmp_path):
    client = TestClient(build(service, tmp_path), raise_server_exceptions=False)
    path = re.sub(r"\{([^}]+)\}", "x%00y", first_route(service, "GET", with_param=True))
    name = re.search(r"\{([^}]+)\}", first_route(service, "GET", with_param=True)).group(1)
    answer = client.get(path, headers=bearer("S9001"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["path", name]
    listed = first_route(service, "GET", with_param=False)
    assert client.get(listed, params={"q": "\x00"}, headers=bearer("S9001")).status_code == 422
    post = next(
        r.split(" ")[1] for r in sorted(PERMISSIONS[service]) if r.startswith(("POST", "PUT"))
    )
    nan = client.request(
        "POST" if f"POST {post}" in PERMISSIONS[service] else "PUT",
        re.sub(r"\{[^}]+\}", "x", post),
        content='{"rate": NaN}',
        headers={**bearer("S9001"), "content-type": "application/json"},
    )
    assert (nan.status_code, nan.json()["errors"][0]["loc"]) == (422, ["body", "rate"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_of_every_service_carries_the_security_headers(service, tmp_path):
    client = TestClient(build(service, tmp_path))
    case_data = client.get(first_route(service, "GET", with_param=False))  # 401: no token
    health, docs = client.get("/health"), client.get("/docs")
    for answer in (case_data, health, docs):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Frame-Options"] == "DENY"
    assert case_data.headers["Cache-Control"] == "no-store"
    assert case_data.headers["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'"
    )
    assert "Cache-Control" not in health.headers  # probes carry no case data
    assert docs.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
