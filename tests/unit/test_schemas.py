import json

import pytest
from jsonschema import Draft202012Validator

from shared.events import new_event, serialize
from shared.events.schemas import SCHEMA_DIR, rendered_schemas, write_schemas
from tests.factories import audit_graded, every_event_data
from tooling.cli import main


def test_committed_json_schemas_are_current():
    committed = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.json")}
    assert committed == rendered_schemas(), "JSON Schemas are stale: run `qa schemas`"


@pytest.mark.parametrize("data", every_event_data(), ids=lambda d: d.event_type)
def test_what_we_serialise_validates_against_its_committed_schema(data):
    schema = json.loads((SCHEMA_DIR / f"{data.event_type}.json").read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(json.loads(serialize(new_event(data, source="/t"))))


def test_schema_pins_the_event_type():
    schema = json.loads((SCHEMA_DIR / "qa.audit.graded.v1.json").read_text())
    event = json.loads(serialize(new_event(audit_graded(), source="/t")))
    assert Draft202012Validator(schema).is_valid(event)
    event["type"] = "qa.audit.graded.v2"
    assert not Draft202012Validator(schema).is_valid(event)


def test_regenerating_writes_every_schema_and_removes_stale_ones(tmp_path):
    (tmp_path / "qa.retired.v1.json").write_text("{}")
    written = write_schemas(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert len(written) == 29


def test_schema_check_command_reports_current_schemas(capsys):
    assert main(["schemas", "--check"]) == 0
    assert "29 JSON Schemas and 4 AsyncAPI documents are current" in capsys.readouterr().out
