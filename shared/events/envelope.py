"""CloudEvents 1.0 structured-mode JSON: the one wire format of every topic.

`new_event` wraps a payload, `serialize` turns it into Kafka key and value bytes and
`parse_event` turns bytes back, refusing anything malformed with an `EventParseError`
that says exactly which attribute is wrong.
"""

import functools
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.events.data import EVENT_DATA_CLASSES, EventData, Identifier, UtcDatetime

D = TypeVar("D", bound=EventData)

EVENT_TYPES: dict[str, type[EventData]] = {cls.event_type: cls for cls in EVENT_DATA_CLASSES}


class EventParseError(ValueError):
    """The bytes on the wire are not a valid event of the contract; the message says why."""


EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")


class CloudEvent(BaseModel, Generic[D]):
    """A CloudEvents 1.0 envelope whose `data` is one of the contract's payloads.

    Extension attributes (e.g. `traceparent`) from other systems are kept, not refused; their
    names must follow the spec (lower-case letters and digits).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    type: str
    time: UtcDatetime
    subject: Identifier
    datacontenttype: str = Field(default="application/json", pattern=r"^application/json\s*(;.*)?$")
    dataschema: str | None = Field(default=None, min_length=1, max_length=512)
    correlationid: str | None = Field(default=None, min_length=1, max_length=128)
    data: D

    @model_validator(mode="after")
    def _envelope_matches_data(self) -> "CloudEvent[D]":
        for name in self.model_extra or {}:
            if not EXTENSION_NAME.match(name):
                raise ValueError(f"{name}: not a valid CloudEvents extension attribute name")
        if self.type != self.data.event_type:
            raise ValueError(f"type {self.type!r} does not match data of {self.data.event_type!r}")
        if self.subject != self.data.subject:
            raise ValueError(f"subject must be {self.data.subject!r}, what the data is about")
        return self

    @property
    def topic(self) -> str:
        return self.data.topic


@functools.cache
def envelope_of(data_class: type[D]) -> type[CloudEvent[D]]:
    """`CloudEvent[data_class]`, built once per payload class and kept.

    pydantic caches parametrised models only weakly: once no event of a type is alive, the
    garbage collector takes its class and the next event builds it again (about a millisecond,
    paid over and over by a busy service). The contract's types are few, so all are kept.
    """
    return CloudEvent[data_class]  # type: ignore[valid-type]


def new_event(data: D, *, source: str, correlation_id: str | None = None) -> CloudEvent[D]:
    """Wrap a payload in a fresh envelope: new id, current time, subject = case id."""
    return envelope_of(type(data))(
        specversion="1.0",
        id=str(uuid.uuid4()),
        source=source,
        type=data.event_type,
        time=datetime.now(UTC),
        subject=data.subject,
        correlationid=correlation_id,
        data=data,
    )


def serialize(event: CloudEvent[Any]) -> bytes:
    """The structured-mode JSON value; absent optional envelope attributes are left out."""
    envelope = event.model_dump(mode="json")
    for optional in ("correlationid", "dataschema"):
        if envelope[optional] is None:
            del envelope[optional]
    return json.dumps(envelope, separators=(",", ":")).encode()


def kafka_key(event: CloudEvent[Any]) -> bytes:
    """Messages are keyed by case id so one case's events stay in order."""
    return event.subject.encode()


def parse_event(raw: bytes | str, expected: type[D] | None = None) -> CloudEvent[D]:
    """Parse and validate one event, optionally insisting on its payload class."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise EventParseError(f"not valid JSON: {type(exc).__name__}: {exc}") from exc
    if not isinstance(document, dict):
        raise EventParseError("a CloudEvent must be a JSON object")
    event_type = document.get("type")
    data_class = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if data_class is None:
        raise EventParseError(f"type: unknown event type {event_type!r}")
    if expected is not None and data_class is not expected:
        raise EventParseError(f"type: expected {expected.event_type!r}, got {event_type!r}")
    try:
        event = envelope_of(data_class).model_validate(document)
    except ValidationError as exc:
        raise EventParseError(describe_validation_error(exc)) from exc
    except RecursionError as exc:
        raise EventParseError("nested too deeply to be an event") from exc
    return cast(CloudEvent[D], event)


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the attribute path, e.g. `data.overall_grade: ...`."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"]) or "(event)"
        lines.append(f"{path}: {error['msg']}")
    return "; ".join(lines)
