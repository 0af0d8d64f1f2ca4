import json
import re
from datetime import datetime

import pytest
from cloudevents.v1.kafka import KafkaMessage, from_structured

from shared.events import (
    EVENT_DATA_CLASSES,
    EVENT_TYPES,
    AuditGraded,
    EventParseError,
    InadequateFound,
    ModerationDisagreed,
    kafka_key,
    new_event,
    parse_event,
    serialize,
)
from shared.events.topics import ALL_TOPICS
from tests.factories import CASE, audit_graded, every_event_data

EVERY_EVENT = every_event_data()


def test_every_event_type_of_the_contract_has_an_example():
    assert {type(data) for data in EVERY_EVENT} == set(EVENT_DATA_CLASSES)
    assert len(EVENT_TYPES) == 29
    assert {cls.topic for cls in EVENT_DATA_CLASSES} == set(ALL_TOPICS)


@pytest.mark.parametrize("data", EVERY_EVENT, ids=lambda d: d.event_type)
def test_event_survives_a_round_trip_through_the_wire_format(data):
    event = new_event(data, source="/qa/tests", correlation_id="corr-1")
    assert parse_event(serialize(event)) == event
    assert kafka_key(event) == data.subject.encode()


@pytest.mark.parametrize("data", EVERY_EVENT, ids=lambda d: d.event_type)
def test_official_cloudevents_sdk_reads_what_we_write(data):
    event = new_event(data, source="/qa/tests")
    message = KafkaMessage(
        headers={"content-type": b"application/cloudevents+json"},
        key=kafka_key(event),
        value=serialize(event),
    )
    read = from_structured(message)
    assert read["specversion"] == "1.0"
    assert read["id"] == event.id
    assert read["type"] == data.event_type
    assert read["subject"] == data.subject
    assert read["source"] == "/qa/tests"
    assert read.data == data.model_dump(mode="json")


def test_type_is_qa_topic_v1_and_envelope_carries_the_case_as_subject():
    event = new_event(audit_graded(), source="/qa/audit")
    wire = json.loads(serialize(event))
    assert wire["type"] == "qa.audit.graded.v1"
    assert wire["subject"] == CASE
    assert wire["datacontenttype"] == "application/json"
    assert "correlationid" not in wire
    assert wire["data"]["reaudit_of"] is None
    assert wire["data"]["graded_at"] == "2026-11-23T10:30:00Z"


def test_times_with_another_offset_are_normalised_to_utc():
    data = InadequateFound(
        case_id=CASE,
        audit_id="A",
        service_area="early_help",
        team_id="T",
        graded_at=datetime.fromisoformat("2026-06-01T10:00:00+01:00"),
        found_by="auditor",
    )
    assert data.graded_at.isoformat() == "2026-06-01T09:00:00+00:00"


def _wire(**changes):
    envelope = json.loads(serialize(new_event(audit_graded(), source="/qa/audit")))
    for path, value in changes.items():
        target = envelope
        *parents, last = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (_wire(type="qa.audit.exploded.v1"), "type: unknown event type 'qa.audit.exploded.v1'"),
        (_wire(data__overall_grade="terrible"), "data.overall_grade: Input should be"),
        (_wire(data__case_id=...), "data.case_id: Field required"),
        (_wire(subject="CASE-OTHER"), "subject must be 'CASE-000123', what the data is about"),
        (
            _wire(data__graded_at="2026-11-23T10:30:00"),
            "data.graded_at: Input should have timezone",
        ),
        (_wire(data__child_name="Jane"), "data.child_name: Extra inputs are not permitted"),
        (_wire(specversion="0.3"), "specversion: Input should be '1.0'"),
        (_wire(data__audit_kind="reaudit"), "reaudit_of is required for, and only for"),
        (_wire(data__case_id="Jane Smith"), "data.case_id: String should match pattern"),
    ],
)
def test_malformed_events_are_refused_with_a_precise_error(raw, message):
    with pytest.raises(EventParseError, match=None) as caught:
        parse_event(raw)
    assert message in str(caught.value)


def test_parse_can_insist_on_one_event_type():
    raw = serialize(new_event(audit_graded(), source="/qa/audit"))
    assert parse_event(raw, AuditGraded).data.audit_id == "AUD-1"
    with pytest.raises(EventParseError, match=re.escape("expected 'qa.audit.inadequate-found.v1'")):
        parse_event(raw, InadequateFound)


def test_moderation_grade_difference_must_match_the_grades():
    fields = {
        "case_id": CASE,
        "moderation_id": "M",
        "audit_id": "A",
        "moderator_id": "S",
        "auditor_grade": "good",
        "moderated_grade": "inadequate",
        "moderated_at": "2026-11-23T10:00:00Z",
    }
    assert ModerationDisagreed(**fields, grade_difference=2).grade_difference == 2
    with pytest.raises(ValueError, match="grade_difference must be 2"):
        ModerationDisagreed(**fields, grade_difference=-2)
    with pytest.raises(ValueError, match="needs the moderated grade to differ"):
        ModerationDisagreed(**{**fields, "moderated_grade": "good"}, grade_difference=0)


def test_event_payloads_are_immutable():
    data = audit_graded()
    with pytest.raises(ValueError, match="frozen"):
        data.overall_grade = "good"


def test_other_systems_cloudevents_attributes_are_accepted_and_kept():
    envelope = json.loads(_wire())
    envelope.update(
        {
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "dataschema": "https://qa.example/schemas/qa.audit.graded.v1.json",
            "datacontenttype": "application/json; charset=utf-8",
        }
    )
    event = parse_event(json.dumps(envelope))
    assert event.model_extra == {"traceparent": envelope["traceparent"]}
    assert json.loads(serialize(event))["traceparent"] == envelope["traceparent"]
    assert event.dataschema == envelope["dataschema"]


@pytest.mark.parametrize(
    ("name", "value"), [("Trace-Parent", "x"), ("datacontenttype", "text/xml")]
)
def test_badly_named_extensions_and_other_content_types_are_refused(name, value):
    envelope = json.loads(_wire())
    envelope[name] = value
    with pytest.raises(EventParseError, match=name.lower() if name != "Trace-Parent" else name):
        parse_event(json.dumps(envelope))


# --- free text the contract no longer carries -----------------------------------------------

TYPED = "Jane Smith, born 1 May 2015"
DISAGREED = next(data for data in EVERY_EVENT if isinstance(data, ModerationDisagreed))


@pytest.mark.parametrize("data", EVERY_EVENT, ids=lambda d: d.event_type)
def test_no_event_puts_the_rationale_or_learning_points_on_kafka(data):
    published = json.loads(serialize(new_event(data, source="/t")))["data"]
    assert "rationale" not in published
    assert published.get("could_be_better_if", []) == []


def test_moderation_events_published_with_a_rationale_are_still_read_without_it():
    event = json.loads(serialize(new_event(DISAGREED, source="/qa/moderation")))
    event["data"]["rationale"] = TYPED
    assert parse_event(json.dumps(event)).data == DISAGREED


def test_audits_published_with_learning_points_are_still_read_without_them():
    event = json.loads(serialize(new_event(audit_graded(), source="/qa/audit")))
    event["data"]["could_be_better_if"] = [TYPED]
    assert parse_event(json.dumps(event)).data.could_be_better_if == ()
