"""The paths where SQLite and PostgreSQL differ (advisory and row locks), one body run on both."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from sqlmodel import Session, select

from services.moderation.domain import ModerationForm
from services.moderation.handlers import (
    ModerationContext,
    event_handlers,
    record_moderation,
    set_sampling_rate,
)
from services.moderation.metrics import refresh_consistency_gauges
from services.moderation.models import Moderation, SamplingRate
from services.moderation.sampling import ManualRate, SamplingPolicy
from shared.clock import FixedClock
from shared.db import transaction
from shared.errors import Conflict
from shared.events import new_event
from shared.events.topics import MODERATION_COMPLETED, MODERATION_SAMPLING_RATE_CHANGED
from shared.events.vocabulary import Grade, ServiceArea
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.outbox import OutboxMessage
from tests.factories import audit_graded

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
ORGANISATION = load_organisation()
EVERY_AUDIT = SamplingPolicy(default_rate=1.0, window=20, threshold=0.3, raised_rate=0.5)
ASSISTANT_DIRECTOR = "S0001"
G, RI = Grade.GOOD, Grade.REQUIRES_IMPROVEMENT


@pytest.fixture
def engine(both_engines):
    upgrade("moderation", both_engines.url.render_as_string(hide_password=False))
    return both_engines


def moderation_of(engine, grade: str, area: str = "early_help") -> Moderation:
    """A graded audit delivered through the service's wiring, and the moderation it opened."""
    audit_id = f"AUD-{uuid.uuid4().hex[:12]}"
    handlers = event_handlers(ModerationContext(ORGANISATION, EVERY_AUDIT, FixedClock(NOW)))
    data = audit_graded(f"CASE-{audit_id}", grade, audit_id, service_area=area)
    process_once(engine, "qa-moderation", new_event(data, source="/tests"), handlers[type(data)])
    with Session(engine) as session:
        return session.exec(select(Moderation).where(Moderation.audit_id == audit_id)).one()


def moderate(engine, moderation: Moderation, grade: Grade, request_id: str) -> None:
    form = ModerationForm(
        moderator_id=moderation.moderator_id,
        moderated_grade=grade,
        rationale="Checked against the case record",
        request_id=request_id,
    )
    with transaction(engine) as session:
        record_moderation(session, moderation.id, form, EVERY_AUDIT, NOW)


def published(engine, topic: str) -> list[dict]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.topic == topic)).all()
        return [json.loads(row.value)["data"] for row in rows]


def test_concurrent_first_changes_of_a_rate_all_succeed_and_one_of_them_stands(engine):
    rates = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]

    def change(rate: float) -> None:
        with transaction(engine) as session:
            manual = ManualRate(ServiceArea.CARE_LEAVERS, rate, ASSISTANT_DIRECTOR)
            set_sampling_rate(session, manual, ORGANISATION, EVERY_AUDIT, NOW)

    with ThreadPoolExecutor(len(rates)) as pool:
        list(pool.map(change, rates))  # re-raises the first failure, if any

    with Session(engine) as session:
        stored = session.get(SamplingRate, "care_leavers")
    assert stored is not None
    assert stored.rate in rates
    changes = published(engine, MODERATION_SAMPLING_RATE_CHANGED)
    assert sorted(c["new_rate"] for c in changes) == rates
    # One at a time: the first saw the default, each later one the rate stored just before it.
    applied_last = stored.rate
    assert sorted(c["previous_rate"] for c in changes) == sorted(
        [EVERY_AUDIT.default_rate, *(r for r in rates if r != applied_last)]
    )


def test_two_clicks_on_one_moderation_record_it_once(engine):
    moderation = moderation_of(engine, "inadequate")
    requests = [f"request-{n:04d}" for n in range(4)]

    def click(request_id: str) -> str:
        try:
            moderate(engine, moderation, Grade.REQUIRES_IMPROVEMENT, request_id)
        except Conflict as refused:
            return str(refused)
        return "recorded"

    with ThreadPoolExecutor(len(requests)) as pool:
        answers = list(pool.map(click, requests))

    assert sorted(answers) == ["already moderated by another request"] * 3 + ["recorded"]
    assert len(published(engine, MODERATION_COMPLETED)) == 1
    with Session(engine) as session:
        row = session.get(Moderation, moderation.id)
    assert row is not None
    assert (row.status, row.request_id in requests) == ("completed", True)


def test_the_kappa_gauge_is_refreshed_from_counts_of_every_moderation_in_the_area(engine):
    # The worked example of the unit tests: (G,G) (RI,RI) (RI,INAD) (G,RI) has kappa 0.5.
    area = "family_safeguarding"
    pairs = [(G, G), (RI, RI), (RI, Grade.INADEQUATE), (G, RI)]
    for n, (auditor, moderated) in enumerate(pairs):
        moderate(engine, moderation_of(engine, auditor, area), moderated, f"request-{n:04d}")
    moderation_of(engine, "outstanding", area)  # still open: not counted

    assert refresh_consistency_gauges(engine) is False  # nothing more waiting
    assert REGISTRY.get_sample_value("qa_moderation_weighted_kappa", {"service_area": area}) == 0.5
