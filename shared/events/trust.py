"""Which events a consumer believes: the right type for the topic, keyed by its subject, from
the topic's producer.

Anyone who can reach the broker can write any topic unless its ACLs say otherwise, and a
consumer that dispatched on the CloudEvent `type` alone would act on a forged
`ModerationCompleted` sent to any topic. So before a handler runs, an event must be of a type
that belongs to the topic it came on, carry a Kafka key equal to its `subject` (the key is what
keeps one case's events in order), and name as `source` a producer of that topic. Anything else
is dead-lettered with the reason (shared.consumer). ACLs keep strangers out of the broker; this
keeps a mistaken or compromised producer from speaking for another.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from shared.events import topics
from shared.events.data import EVENT_DATA_CLASSES
from shared.events.envelope import CloudEvent


@dataclass(frozen=True)
class EventTrust:
    """For each topic: the event types it carries and the sources allowed to write it."""

    types: Mapping[str, frozenset[str]]
    sources: Mapping[str, frozenset[str]]

    @classmethod
    def of_contract(cls, case_management_source: str) -> Self:
        """The contract's topics, types and producers; case events from the configured source."""
        types: dict[str, set[str]] = {}
        for data_class in EVENT_DATA_CLASSES:
            types.setdefault(data_class.topic, set()).add(data_class.event_type)
        sources = {
            topic: frozenset(
                case_management_source
                if producer == topics.CASE_MANAGEMENT
                else topics.service_source(producer)
                for producer in producers
            )
            for topic, producers in topics.PRODUCERS.items()
        }
        return cls({topic: frozenset(names) for topic, names in types.items()}, sources)

    def refusal(self, topic: str, key: bytes | None, event: CloudEvent[Any]) -> str | None:
        """Why an event that came on `topic` with `key` must not be believed; None when it may."""
        if event.type not in self.types.get(topic, frozenset()):
            return f"type {event.type} does not belong on topic {topic}"
        if not key:
            return "the message has no key; it must be the event's subject"
        if key != event.subject.encode():
            return "the message key is not the event's subject"
        if event.source not in self.sources.get(topic, frozenset()):
            return f"source {event.source} does not produce topic {topic}"
        return None
