"""The contract's producers of each topic agree with what each service declares and sends."""

import re
from pathlib import Path

import pytest

from services.audit.handlers import SOURCE as AUDIT_SOURCE
from services.catalogue import BY_NAME, SERVICES
from services.moderation.handlers import SOURCE as MODERATION_SOURCE
from services.notifications.context import SOURCE as NOTIFICATIONS_SOURCE
from services.scheduler.store import SOURCE as SCHEDULER_SOURCE
from shared.events import topics
from shared.events.data import EVENT_DATA_CLASSES
from shared.events.trust import EventTrust

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
def test_a_service_publishes_exactly_the_topics_the_contract_says_it_produces(service):
    produced = {topic for topic, names in topics.PRODUCERS.items() if service.name in names}
    assert set(service.publishes) == produced


def test_every_topic_has_a_producer_that_exists():
    assert set(topics.PRODUCERS) == set(topics.ALL_TOPICS)
    for names in topics.PRODUCERS.values():
        assert names <= {*BY_NAME, topics.CASE_MANAGEMENT}


def test_each_service_sends_with_the_source_its_consumers_believe():
    sent = {
        "audit": AUDIT_SOURCE,
        "moderation": MODERATION_SOURCE,
        "scheduler": SCHEDULER_SOURCE,
        "notifications": NOTIFICATIONS_SOURCE,
    }
    assert sent == {name: topics.service_source(name) for name in BY_NAME}
    trust = EventTrust.of_contract("/cms")
    assert trust.sources[topics.AUDIT_INADEQUATE_FOUND] == {"/qa/audit", "/qa/moderation"}
    assert trust.sources[topics.CASE_EVENTS] == {"/cms"}


def test_the_readme_topic_table_says_what_the_declarations_say():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for topic in topics.ALL_TOPICS:
        types = [c.event_type for c in EVENT_DATA_CLASSES if c.topic == topic]
        producers = sorted(topics.PRODUCERS[topic] - {topics.CASE_MANAGEMENT})
        consumers = [service.name for service in SERVICES if topic in service.consumes]
        [row] = [line for line in readme.splitlines() if line.startswith(f"| `{topic}` |")]
        _, _, listed_types, produced, consumed, _ = (cell.strip() for cell in row.split("|"))
        assert re.findall(r"`(qa\.[^`]+)`", listed_types) == types, topic
        assert [p for p in produced.split(", ") if "case management" not in p] == producers
        assert consumed == (", ".join(consumers) or "none yet"), topic
