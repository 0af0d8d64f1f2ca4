"""A batch of the audit service's events (the case register's, moderators', follow-ups'), read
ahead and applied in one transaction, ends as the same events each applied on its own."""

import pytest
from sqlmodel import Session, col, select

from services.audit.app import event_handlers
from services.audit.models import AuditModerator, ReauditAssignmentRow, RegisteredCase
from shared.db import create_db_engine
from shared.events import FollowUpCompleted, FollowUpScheduled, new_event
from shared.inbox import process_batch, process_once
from shared.migrations import upgrade
from tests.factories import followup_event, moderation_requested
from tests.unit.audit.test_case_register import ALLOCATED, CLOSED, OPENED


def about(case_id: str, data, **changes):
    return data.model_copy(update={"case_id": case_id, **changes})


def events():
    """Several cases, each case's events in order, cases interleaved and repeated."""
    return [
        new_event(data, source="/cms")
        for data in (
            about("CASE-1", OPENED),
            about("CASE-2", OPENED),
            about("CASE-1", ALLOCATED),
            about("CASE-3", followup_event(FollowUpScheduled), audit_id="AUD-3"),
            about("CASE-2", CLOSED),
            about("CASE-3", moderation_requested("AUD-3")),
            about("CASE-4", followup_event(FollowUpScheduled), audit_id="AUD-4"),
            about("CASE-3", followup_event(FollowUpCompleted), audit_id="AUD-3"),
            about("CASE-5", CLOSED),
            about("CASE-6", followup_event(FollowUpScheduled), audit_id="AUD-6"),
            about("CASE-7", ALLOCATED),  # opened before the batch
        )
    ]


def tables(engine) -> list[list[dict]]:
    with Session(engine) as session:
        return [
            [row.model_dump() for row in session.exec(select(model).order_by(col(key)))]
            for model, key in (
                (RegisteredCase, RegisteredCase.case_id),
                (ReauditAssignmentRow, ReauditAssignmentRow.audit_id),
                (AuditModerator, AuditModerator.audit_id),
            )
        ]


def engine_at(url: str):
    upgrade("audit", url)
    return create_db_engine(url)


@pytest.fixture
def alone(tmp_path):
    return engine_at(f"sqlite:///{tmp_path / 'alone.db'}")


def test_a_batch_ends_as_its_events_each_applied_alone(both_engines, alone):
    batched = engine_at(both_engines.url.render_as_string(hide_password=False))
    handlers = event_handlers()
    # Known before the batch: what it must read ahead, not take for absent.
    before = [
        new_event(about("CASE-7", OPENED), source="/cms"),
        new_event(
            about("CASE-6", followup_event(FollowUpScheduled), audit_id="AUD-6"), source="/t"
        ),
    ]
    batch = events()
    for event in [*before, *batch]:
        process_once(alone, "audit", event, handlers[type(event.data)])
    for event in before:
        process_once(batched, "audit", event, handlers[type(event.data)])
    handled = [(event, handlers[type(event.data)]) for event in batch]
    assert process_batch(batched, "audit", handled) == [True] * len(batch)

    expected = tables(alone)
    registered, assignments, moderators = expected
    assert [row["case_id"] for row in registered] == ["CASE-1", "CASE-2", "CASE-5", "CASE-7"]
    assert [row["audit_id"] for row in assignments] == ["AUD-3", "AUD-4", "AUD-6"]
    assert not next(row for row in assignments if row["audit_id"] == "AUD-3")["open"]
    assert len(moderators) == 1
    assert tables(batched) == expected
