"""JSON Schemas of every event, generated from the models and committed under docs/schemas."""

import json
from pathlib import Path
from typing import Any

from shared.events.envelope import EVENT_TYPES, envelope_of
from shared.generated import stale_generated, write_generated

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema of the whole CloudEvent for one event type, `type` pinned to it."""
    envelope = envelope_of(EVENT_TYPES[event_type])
    schema = envelope.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{event_type}.json"
    schema["title"] = event_type
    schema["properties"]["type"] = {"const": event_type, "title": "Type", "type": "string"}
    return schema


def rendered_schemas() -> dict[str, str]:
    """File name -> file text for every event type, in a stable form fit to commit."""
    return {
        f"{event_type}.json": json.dumps(event_schema(event_type), indent=2, sort_keys=True) + "\n"
        for event_type in sorted(EVENT_TYPES)
    }


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Regenerate the committed schemas, removing any for event types that no longer exist."""
    return write_generated(directory, rendered_schemas())


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """The committed schemas that differ from what the models generate now."""
    return stale_generated(directory, rendered_schemas())
