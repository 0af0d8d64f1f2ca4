"""Every route of every service declares who may call it, and the guard is really on it."""

import importlib
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.catalogue import BY_NAME, SERVICE_NAMES
from shared.migrations import upgrade
from shared.permissions import PUBLIC

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
