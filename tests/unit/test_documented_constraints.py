"""Every limit a caller can break is said in words where callers look: the OpenAPI schema.

A request property or parameter whose schema carries a limit (length, pattern, range, item
count) has a description beside it: on a parameter itself, or on a body property or the
constrained part of it (a union member, a list's items).
"""

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from services.catalogue import BY_NAME, SERVICE_NAMES
from shared.migrations import upgrade

LIMITS = ("minLength", "maxLength", "pattern", "minimum", "maximum", "maxItems")
Schema = dict[str, Any]


def openapi_of(service: str, tmp_path) -> Schema:
    """The service's OpenAPI document, from its app as it would run (nothing connects)."""
    app_module = importlib.import_module(f"services.{service}.app")
    settings = BY_NAME[service].settings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade(service, settings.resolved_database_url)
    return app_module.create_app(settings).openapi()


def _model(schema: Schema, components: Schema) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def undescribed(schema: Schema, components: Schema, described: bool = False) -> Iterator[str]:
    """The limits in `schema` with no description on them or on what encloses them; models
    it refers to are walked as bodies of their own (each property its own start)."""
    described = described or bool(schema.get("description"))
    if not described:
        yield from (key for key in LIMITS if key in schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            if _model(part, components) is None:
                yield from undescribed(part, components, described)
    items = schema.get("items")
    if isinstance(items, dict) and _model(items, components) is None:
        yield from (f"items.{key}" for key in undescribed(items, components, described))


def referred_models(schema: Schema, components: Schema) -> Iterator[str]:
    if (name := _model(schema, components)) is not None:
        yield name
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            yield from referred_models(part, components)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from referred_models(schema[key], components)


def request_fields(api: Schema) -> Iterator[tuple[str, Schema, bool]]:
    """(where, schema, is_parameter) for every parameter and request-body property."""
    components = api.get("components", {}).get("schemas", {})
    for path, operations in api["paths"].items():
        for method, operation in operations.items():
            route = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                where = f"{route} {parameter['in']} {parameter['name']}"
                described = {**parameter["schema"], "description": parameter.get("description")}
                yield where, described, True
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            pending = list(referred_models(body["schema"], components)) if body else []
            seen: set[str] = set()
            while pending:
                name = pending.pop()
                if name in seen:
                    continue
                seen.add(name)
                for field, schema in components[name].get("properties", {}).items():
                    yield f"{route} body {name}.{field}", schema, False
                    pending.extend(referred_models(schema, components))


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> dict[str, Schema]:
    return {
        service: openapi_of(service, tmp_path_factory.mktemp(service)) for service in SERVICE_NAMES
    }


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_limited_request_field_and_parameter_says_its_limit_in_words(documents, service):
    api = documents[service]
    components = api.get("components", {}).get("schemas", {})
    missing = {}
    for where, schema, is_parameter in request_fields(api):
        if is_parameter and not schema.get("description"):
            # A parameter's description is the one Swagger UI and ReDoc show beside it.
            limits = list(undescribed({**schema, "description": None}, components))
        else:
            limits = list(undescribed(schema, components))
        if limits:
            missing[where] = limits
    assert missing == {}, f"{service}: limits without a description"


def test_the_check_finds_a_limit_without_words():
    components: Schema = {}
    assert list(undescribed({"type": "string", "maxLength": 5}, components)) == ["maxLength"]
    items = {"type": "array", "maxItems": 2, "items": {"pattern": "^a$"}}
    assert list(undescribed(items, components)) == ["maxItems", "items.pattern"]
    optional = {"anyOf": [{"type": "string", "minLength": 1, "description": "1+"}, {}]}
    assert list(undescribed(optional, components)) == []


def _property(api: Schema, model: str, field: str) -> Schema:
    schema: Schema = api["components"]["schemas"][model]["properties"][field]
    return schema


@pytest.mark.parametrize(
    ("service", "model"),
    [
        ("moderation", "ModerationForm"),
        ("scheduler", "ActionChangeForm"),
        ("scheduler", "VerificationForm"),
    ],
)
def test_request_id_needs_eight_characters_and_says_so(documents, service, model):
    request_id = _property(documents[service], model, "request_id")
    assert (request_id["minLength"], request_id["maxLength"]) == (8, 128)
    assert "8 to 128 characters" in request_id["description"]
    assert "six years" in request_id["description"]  # how long a replay is recognised
    assert request_id["examples"]


def test_idempotency_key_states_its_length_scope_and_lifetime(documents):
    submit = documents["audit"]["paths"]["/audits"]["post"]
    (key,) = [p for p in submit["parameters"] if p["name"] == "Idempotency-Key"]
    assert (key["schema"]["anyOf"][0]["minLength"], key["schema"]["anyOf"][0]["maxLength"]) == (
        8,
        128,
    )
    for fact in ("8 to 128 characters", "yours alone", "six years", "Idempotent-Replayed"):
        assert fact in key["description"]


def test_page_size_parameters_state_their_range(documents):
    listing = documents["audit"]["paths"]["/audits"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 500)
    assert "1 to 500, 100 when left out" in limit["description"]
