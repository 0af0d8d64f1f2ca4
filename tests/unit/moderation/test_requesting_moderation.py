"""AuditGraded in, through the service's own wiring, on SQLite: what is stored and published."""

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from services.moderation.handlers import ModerationContext, event_handlers
from services.moderation.models import Moderation
from services.moderation.sampling import SamplingPolicy
from shared.clock import FixedClock
from shared.db import create_db_engine
from shared.events import AuditGraded, new_event
from shared.events.topics import MODERATION_REQUESTED
from shared.inbox import process_batch, process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation
from shared.outbox import OutboxMessage
from tests.factories import audit_graded

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
POLICY = SamplingPolicy(default_rate=0.0, window=2, threshold=0.3, raised_rate=0.5)


@pytest.fixture
def engine(sqlite_engine):
    upgrade("moderation", str(sqlite_engine.url))
    return sqlite_engine


def deliver(engine, data: AuditGraded) -> None:
    handlers = event_handlers(ModerationContext(load_organisation(), POLICY, FixedClock(NOW)))
    process_once(engine, "qa-moderation", new_event(data, source="/tests"), handlers[type(data)])


def stored(engine) -> tuple[list[Moderation], list[dict]]:
    with Session(engine) as session:
        moderations = list(session.exec(select(Moderation)).all())
        outbox = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return moderations, [json.loads(m.value) for m in outbox if m.topic == MODERATION_REQUESTED]


def test_the_service_handles_exactly_graded_audits():
    handlers = event_handlers(ModerationContext(load_organisation(), POLICY, FixedClock(NOW)))
    assert set(handlers) == {AuditGraded}


def test_an_inadequate_audit_is_assigned_and_its_moderation_requested(engine):
    deliver(engine, audit_graded("CASE-1", "inadequate", "AUD-1", auditor_id="S0003"))
    [moderation], [requested] = stored(engine)
    assert (moderation.audit_id, moderation.status, moderation.reason) == (
        "AUD-1",
        "open",
        "inadequate",
    )
    assert moderation.moderator_id not in {"S0003", "STAFF-102"}
    assert moderation.requested_at == NOW
    assert requested["data"]["moderation_id"] == moderation.id
    assert requested["data"]["moderator_id"] == moderation.moderator_id
    assert requested["correlationid"] == "AUD-1"


def test_an_audit_graded_twice_is_moderated_once(engine):
    deliver(engine, audit_graded("CASE-1", "inadequate", "AUD-1"))
    deliver(engine, audit_graded("CASE-1", "inadequate", "AUD-1"))  # a new event id each time
    moderations, requested = stored(engine)
    assert (len(moderations), len(requested)) == (1, 1)


def test_a_good_audit_outside_the_sample_is_not_moderated(engine):
    deliver(engine, audit_graded("CASE-1", "good", "AUD-1"))
    assert stored(engine) == ([], [])


def deliver_together(engine, audits: list[AuditGraded]) -> None:
    """As the consumer does with a batch of records: in one transaction."""
    handlers = event_handlers(ModerationContext(load_organisation(), POLICY, FixedClock(NOW)))
    batch = [(new_event(data, source="/tests"), handlers[type(data)]) for data in audits]
    process_batch(engine, "qa-moderation", batch)


def test_a_batch_shares_its_moderations_out_as_one_by_one_would(engine, tmp_path):
    audits = [audit_graded(f"CASE-{n}", "inadequate", f"AUD-{n}") for n in range(12)]
    one_by_one = create_db_engine(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    upgrade("moderation", str(one_by_one.url))
    for audit in audits:
        deliver(one_by_one, audit)
    deliver_together(engine, audits)

    def moderators(at) -> list[str]:
        with Session(at) as session:
            rows = session.exec(select(Moderation)).all()
            return [row.moderator_id for row in sorted(rows, key=lambda r: int(r.audit_id[4:]))]

    together = moderators(engine)
    assert together == moderators(one_by_one)
    assert len(set(together)) > 1  # the open items counted on within the batch, not read once


def test_an_audit_graded_again_in_a_batch_or_before_it_is_moderated_once(engine):
    deliver(engine, audit_graded("CASE-0", "inadequate", "AUD-0"))  # assigned before the batch
    again = [audit_graded(f"CASE-{n % 3}", "inadequate", f"AUD-{n % 3}") for n in range(6)]
    deliver_together(engine, again)  # AUD-0 a third time, AUD-1 and AUD-2 twice each
    moderations, requested = stored(engine)
    assert sorted(m.audit_id for m in moderations) == ["AUD-0", "AUD-1", "AUD-2"]
    assert len(requested) == 3
