"""The AsyncAPI documents: current, served by every service, naming every topic and payload."""

import ast
import importlib
import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from services.catalogue import BY_NAME
from shared.asyncapi import DOCUMENTED_BOOTSTRAP, asyncapi_document
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
    "audit": (
        # who may post a re-audit: the follow-up's step and owner as the scheduler announces
        {
            "case.events",
            "moderation.requested",
            "followup.scheduled",
            "followup.completed",
            "followup.cancelled",
        },
        {
            "audit.graded",
            "audit.inadequate-found",
            "allocation.allocated",
            "allocation.declined",
            "allocation.exempted",
            "allocation.submitted",
        },
    ),
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
        {
            "audit.inadequate-found",
            "audit.graded",
            "moderation.requested",
            "moderation.completed",
            "allocation.allocated",
            "allocation.declined",
            "allocation.exempted",
            "allocation.submitted",
        },
        {
            "followup.scheduled",
            "followup.reminder-due",
            "followup.overdue",
            "followup.completed",
            "followup.cancelled",
            "action.agreed",
            "action.updated",
            "action.reminder-due",
            "action.overdue",
            "action.completed",
            "allocation.reminder-due",
            "allocation.overdue",
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
            "action.agreed",
            "action.updated",
            "action.reminder-due",
            "action.overdue",
            "action.completed",
            "allocation.allocated",
            "allocation.exempted",
            "allocation.reminder-due",
            "allocation.overdue",
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


def served(service: str, tmp_path: Path, bootstrap: str = "127.0.0.1:9", **settings) -> TestClient:
    """The service's app, not started: nothing connects; the document comes from the
    subscribers the app wired."""
    create_app, settings_class = APPS[service]
    return TestClient(
        create_app(settings_class(kafka_bootstrap_servers=bootstrap, data_dir=tmp_path, **settings))
    )


def as_documented(document: dict) -> dict:
    """`document` with the broker the committed documents name (docker-compose's)."""
    servers = {
        name: {**server, "host": DOCUMENTED_BOOTSTRAP}
        for name, server in document["servers"].items()
    }
    return {**document, "servers": servers}


@pytest.mark.parametrize("service", sorted(APPS))
def test_each_service_serves_its_committed_document_naming_its_own_broker(service, tmp_path):
    answer = served(service, tmp_path).get("/asyncapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert [server["host"] for server in document["servers"].values()] == ["127.0.0.1:9"]
    assert as_documented(document) == committed(service)


def test_the_committed_documents_name_the_compose_broker():
    for service in APPS:
        hosts = [server["host"] for server in committed(service)["servers"].values()]
        assert hosts == [DOCUMENTED_BOOTSTRAP] == ["kafka:9092"]


def test_the_served_document_names_every_bootstrap_server_and_a_secured_broker(tmp_path):
    secured = served(
        "audit",
        tmp_path,
        bootstrap="kafka-1.council.example:9093,kafka-2.council.example:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="qa-audit",
        kafka_sasl_password="not-a-real-password",
    )
    document = secured.get("/asyncapi.json").json()
    (server,) = document["servers"].values()
    assert server["host"] == "kafka-1.council.example:9093,kafka-2.council.example:9093"
    assert server["protocol"] == "kafka-secure"
    assert "not-a-real-password" not in json.dumps(document)
    page = BeautifulSoup(secured.get("/asyncapi").text, "html.parser")
    assert "kafka-1.council.example:9093" in page.select_one("#servers + table").get_text()


@pytest.mark.parametrize("service", sorted(APPS))
def test_the_html_view_is_readable_with_no_script_and_no_other_host(service, tmp_path):
    client = served(service, tmp_path)
    answer = client.get("/asyncapi")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = BeautifulSoup(answer.text, "html.parser")
    assert page.find("h1").get_text() == f"{BY_NAME[service].title} AsyncAPI"
    assert page.find_all("script") == []
    assert page.find_all(attrs={"src": True}) == []
    links = [a["href"] for a in page.find_all(href=True)]
    assert links
    assert [link for link in links if re.match(r"^([a-z]+:)?//", link, re.IGNORECASE)] == []
    for pre in page.find_all("pre"):
        pre.decompose()  # the document's own content may name URLs; the page itself names none
    assert not re.search(r"https?://", str(page))
    document = client.get("/asyncapi.json").json()
    consumes, publishes = EXPECTED[service]
    rows = {
        (row.find_all("td")[0].get_text(), row.find_all("td")[1].get_text())
        for row in page.select("#operations + table tbody tr")
    }
    assert rows >= {("Receives", t) for t in consumes} | {("Sends", t) for t in publishes}
    ids = {element["id"] for element in page.find_all(id=True)}
    assert all(link.removeprefix("#") in ids for link in links if link.startswith("#")), (
        "every link within the page leads somewhere"
    )
    schema = next(iter(document["components"]["schemas"]))
    assert page.find(id=f"schema-{schema}") is not None


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
            {"$ref": "#/components/schemas/CaseOpenedV2Event"},
            {"$ref": "#/components/schemas/CaseAllocatedV2Event"},
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
