"""A batch of the audit service's events (the case register's, moderators', follow-ups'), read
ahead and applied in one transaction, ends as the same events each applied on its own."""

from sqlmodel import Session, col, select

from services.audit.app import event_handlers
from services.audit.models import AuditModerator, ReauditAssignmentRow, RegisteredCase
from shared.events import FollowUpCompleted, FollowUpScheduled, new_event
from tests.batches import apply_both_ways, migrated, one_by_one_engine
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


def test_a_batch_ends_as_its_events_each_applied_alone(both_engines, tmp_path):
    batched = migrated("audit", both_engines.url.render_as_string(hide_password=False))
    alone = one_by_one_engine("audit", tmp_path)
    before = [
        new_event(about("CASE-7", OPENED), source="/cms"),
        new_event(
            about("CASE-6", followup_event(FollowUpScheduled), audit_id="AUD-6"), source="/t"
        ),
    ]
    batch = events()
    applied = apply_both_ways("audit", event_handlers(), before, batch, alone, batched)
    assert applied == [True] * len(batch)

    expected = tables(alone)
    registered, assignments, moderators = expected
    assert [row["case_id"] for row in registered] == ["CASE-1", "CASE-2", "CASE-5", "CASE-7"]
    assert [row["audit_id"] for row in assignments] == ["AUD-3", "AUD-4", "AUD-6"]
    assert not next(row for row in assignments if row["audit_id"] == "AUD-3")["open"]
    assert len(moderators) == 1
    assert tables(batched) == expected
