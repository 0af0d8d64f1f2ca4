"""The AsyncAPI documents: current, served by every service, naming every topic and payload."""

import ast
import importlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from services.catalogue import BY_NAME
from shared.asyncapi import asyncapi_document
from shared.events import EVENT_DATA_CLASSES, new_event, serialize
from tests.factories import every_event_data
from tooling.documents import (
    ASYNCAPI_DIR,
    rendered_documents,
    stale_documents,
    write_documents,
)

ROOT = Path(__file__).resolve().parents[2]
APPS = {
    name: (importlib.import_module(f"{service.module}.app").create_app, service.settings)
    for name, service in BY_NAME.items()
}
# Written out from the product brief's topic table, not from the services' declarations, so
# that a wrong declaration cannot make this test agree with it.
EXPECTED = {
    "audit": ({"case.events"}, {"audit.graded", "audit.inadequate-found"}),
    "moderation": (
        {"audit.graded"},
        {
            "moderation.requested",
            "moderation.completed",
            "moderation.disagreed",
            "moderation.sampling-rate-changed",
            "audit.inadequate-found",
        },
    ),
    "scheduler": (
        {"audit.inadequate-found", "audit.graded", "moderation.completed"},
        {
            "followup.scheduled",
            "followup.reminder-due",
            "followup.overdue",
            "followup.completed",
            "followup.cancelled",
        },
    ),
    "notifications": (
        {
            "audit.graded",
            "audit.inadequate-found",
            "moderation.requested",
            "moderation.disagreed",
            "followup.scheduled",
            "followup.reminder-due",
            "followup.overdue",
            "followup.completed",
            "followup.cancelled",
        },
        {"notification.delivered", "notification.failed"},
    ),
}


def committed(service: str) -> dict:
    return json.loads((ASYNCAPI_DIR / f"{service}.json").read_text())


def channels_by_action(document: dict, action: str) -> set[str]:
    return {
        document["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        for operation in document["operations"].values()
        if operation["action"] == action
    }


def test_committed_asyncapi_documents_are_current():
    on_disk = {path.name: path.read_text() for path in ASYNCAPI_DIR.glob("*.json")}
    assert on_disk == rendered_documents(), "AsyncAPI documents are stale: run `qa schemas`"


def test_schema_check_notices_a_stale_document_and_regenerating_fixes_it(tmp_path):
    (tmp_path / "retired.json").write_text("{}")
    write_documents(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{s}.json" for s in APPS)
    assert stale_documents(tmp_path) == []
    (tmp_path / "scheduler.json").write_text("{}")
    assert stale_documents(tmp_path) == ["scheduler.json"]


@pytest.mark.parametrize("service", sorted(APPS))
def test_each_service_serves_its_committed_document(service, tmp_path):
    create_app, settings_class = APPS[service]
    settings = settings_class(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    # No lifespan: nothing connects; the document comes from the subscribers the app wired.
    client = TestClient(create_app(settings))
    served = client.get("/asyncapi.json")
    assert served.status_code == 200
    assert served.json() == committed(service)
    page = client.get("/asyncapi")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f"{BY_NAME[service].title} AsyncAPI" in page.text
    assert '"address": "' + sorted(EXPECTED[service][0])[0] + '"' in page.text


@pytest.mark.parametrize("service", sorted(APPS))
def test_document_lists_what_the_service_consumes_publishes_and_dead_letters(service):
    document = committed(service)
    consumes, publishes = EXPECTED[service]
    dead_letters = {f"{topic}.dlq" for topic in consumes}
    assert document["asyncapi"] == "3.0.0"
    assert channels_by_action(document, "receive") == consumes
    assert channels_by_action(document, "send") == publishes | dead_letters


def test_a_topic_shared_by_several_event_types_documents_each_of_them():
    message = committed("audit")["components"]["messages"]["case.events:SubscribeMessage"]
    assert message["payload"] == {
        "oneOf": [
            {"$ref": "#/components/schemas/CaseOpenedEvent"},
            {"$ref": "#/components/schemas/CaseAllocatedEvent"},
            {"$ref": "#/components/schemas/CaseClosedEvent"},
        ]
    }


@pytest.mark.parametrize("data", every_event_data(), ids=lambda d: d.event_type)
def test_what_we_publish_validates_against_the_documented_payload(data):
    document = next(
        committed(service)
        for service, (consumes, publishes) in EXPECTED.items()
        if data.topic in consumes | publishes
    )
    schema_name = f"{type(data).__name__}Event"
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    )
    event = json.loads(serialize(new_event(data, source="/t")))
    validator.validate(event)
    assert document["components"]["schemas"][schema_name]["properties"]["data"] == {
        "$ref": f"#/components/schemas/{type(data).__name__}"
    }
    event["type"] = "qa.something.else.v1"
    assert not validator.is_valid(event), "the documented type must be pinned"


def constructed_event_classes(service: str) -> set[str]:
    """Event classes the service's own code builds (`X(...)` or `X.model_validate(...)`)."""
    names = {cls.__name__ for cls in EVENT_DATA_CLASSES}
    built = set()
    for path in (ROOT / "services" / service).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "model_validate":
                func = func.value
            if isinstance(func, ast.Name) and func.id in names:
                built.add(func.id)
    return built


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_event_a_service_builds_is_on_a_topic_its_document_says_it_publishes(service):
    topic_of = {cls.__name__: cls.topic for cls in EVENT_DATA_CLASSES}
    built = constructed_event_classes(service)
    assert built, "the scan found nothing: it no longer sees how events are built"
    assert {topic_of[name] for name in built} == set(BY_NAME[service].publishes)


def test_the_document_says_messages_are_cloudevents_keyed_by_case():
    document = asyncapi_document(BY_NAME["scheduler"])
    assert document["defaultContentType"] == "application/cloudevents+json; charset=UTF-8"
    message = document["components"]["messages"]["followup.scheduled:Message"]
    assert message["bindings"]["kafka"]["key"]["type"] == "string"
    assert message["correlationId"]["location"] == "$message.payload#/correlationid"
