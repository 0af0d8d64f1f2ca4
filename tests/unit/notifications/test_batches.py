"""A batch of events, read ahead and applied in one transaction, makes the same notifications
as the same events each applied on its own (SQLite and PostgreSQL, where the batch also takes
each audit's lock up front)."""

import pytest
from sqlmodel import Session, select

from services.notifications.models import Notification, ParkedEvent
from shared.events import new_event
from tests.batches import apply_both_ways, migrated, one_by_one_engine
from tests.unit.notifications.test_notifying import (
    Setup,
    found_inadequate,
    graded_in_early_help,
    scheduled,
)


def about(case_id: str, data):
    return data.model_copy(update={"case_id": case_id})


def events(setup: Setup):
    """Several cases' events, some cases repeated in the batch, one finding before its audit's
    grading (parked, then routed when the grading comes) and one delivered twice."""
    made = [
        new_event(data, source="/tests")
        for data in (
            about("CASE-1", graded_in_early_help("AUD-1")),
            about("CASE-1", found_inadequate("AUD-1", setup)),
            about("CASE-2", found_inadequate("AUD-2", setup)),  # parked: its grading comes later
            about("CASE-3", graded_in_early_help("AUD-3")),
            about("CASE-4", scheduled()),
            about("CASE-2", graded_in_early_help("AUD-2")),
            about("CASE-3", found_inadequate("AUD-3", setup)),
            about("CASE-5", found_inadequate("AUD-5", setup)),  # parked: no grading at all
        )
    ]
    return [*made, made[1]]  # the same event again


def notifications(engine) -> list[tuple]:
    with Session(engine) as session:
        rows = session.exec(select(Notification)).all()
        parked = session.exec(select(ParkedEvent.audit_id)).all()
    made = sorted(
        (r.source_event_id, r.case_id, r.recipient_id, r.channel, r.kind, r.status, r.subject)
        for r in rows
    )
    return [*made, ("parked", *sorted(parked))]


@pytest.fixture
def batched(both_engines) -> Setup:
    return Setup(migrated("notifications", both_engines.url.render_as_string(hide_password=False)))


def test_a_batch_makes_the_notifications_of_its_events_each_applied_alone(batched, tmp_path):
    alone = one_by_one_engine("notifications", tmp_path)
    before = [new_event(about("CASE-6", graded_in_early_help("AUD-6")), source="/tests")]
    finding = about("CASE-6", found_inadequate("AUD-6", batched))
    batch = [new_event(finding, source="/tests"), *events(batched)]
    applied = apply_both_ways(
        "notifications", batched.handlers, before, batch, alone, batched.engine
    )
    assert applied == [True] * 9 + [False]

    expected = notifications(alone)
    assert expected[-1] == ("parked", "AUD-5")
    # Four findings whose audits' people were known or learnt (one after it was parked), and
    # the follow-up; a grading tells nobody here.
    assert len({row[0] for row in expected[:-1]}) == 5
    assert notifications(batched.engine) == expected
