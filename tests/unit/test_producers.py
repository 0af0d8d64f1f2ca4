"""The contract's producers of each topic agree with what each service declares and sends."""

import pytest

from services.audit.handlers import SOURCE as AUDIT_SOURCE
from services.catalogue import BY_NAME, SERVICES
from services.moderation.handlers import SOURCE as MODERATION_SOURCE
from services.notifications.context import SOURCE as NOTIFICATIONS_SOURCE
from services.scheduler.store import SOURCE as SCHEDULER_SOURCE
from shared.events import topics
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
