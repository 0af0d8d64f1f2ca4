"""A batch of the scheduler's events, read ahead and applied in one transaction, ends as the
same events each applied on its own (SQLite and PostgreSQL, where the batch also takes each
audit's lock up front)."""

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import Session, col, select

from services.scheduler.models import FollowUp, TimelineEntry, Timer
from shared.events import new_event
from shared.inbox import process_batch
from shared.migrations import upgrade
from tests.batches import apply_both_ways, migrated, one_by_one_engine
from tests.unit.scheduler.test_followups import World, graded, inadequate, moderated


def about(case_id: str, data):
    return data.model_copy(update={"case_id": case_id})


def events():
    """Findings and gradings of several cases, some repeated in the batch, with a moderation
    (a handler reading ahead nothing, after which nothing read ahead is trusted) between."""
    return [
        new_event(data, source="/tests")
        for data in (
            about("CASE-1", graded("AUD-1")),
            about("CASE-1", inadequate("AUD-1")),
            about("CASE-2", inadequate("AUD-2")),
            about("CASE-3", graded("AUD-3", grade="good")),
            about("CASE-2", moderated("inadequate", audit_id="AUD-2")),
            about("CASE-4", inadequate("AUD-4")),
            about("CASE-1", inadequate("AUD-1", found_by="moderation")),  # found twice
            about("CASE-4", graded("AUD-4")),  # the grading after its finding
            about("CASE-1", graded("AUD-5", grade="good", reaudit_of="AUD-1")),
            about("CASE-6", inadequate("AUD-6")),
            # the re-audit graded before its audit's finding has arrived
            about("CASE-7", graded("AUD-7")),
            about("CASE-7", graded("AUD-8", grade="good", reaudit_of="AUD-7")),
            about("CASE-7", inadequate("AUD-7")),
        )
    ]


@dataclass(frozen=True)
class Outcome:
    followups: dict[str, dict]
    timers: dict[str, list[tuple]]
    timeline: dict[str, list[str]]


def outcome(engine) -> Outcome:
    with Session(engine) as session:
        followups = session.exec(select(FollowUp).order_by(col(FollowUp.audit_id))).all()
        by_id = {row.id: row.audit_id for row in followups}
        timers: dict[str, list[tuple]] = {}
        for t in session.exec(select(Timer).order_by(col(Timer.id))):
            timers.setdefault(by_id[t.followup_id], []).append(
                (t.step, t.kind, t.sequence, t.fire_at, t.cancelled)
            )
        timeline: dict[str, list[str]] = {}
        for line in session.exec(select(TimelineEntry).order_by(col(TimelineEntry.id))):
            timeline.setdefault(by_id[line.followup_id], []).append(line.what)
    return Outcome(
        {row.audit_id: row.model_dump(exclude={"id"}) for row in followups}, timers, timeline
    )


@pytest.fixture
def world(both_engines) -> World:
    return World(migrated("scheduler", both_engines.url.render_as_string(hide_password=False)))


def test_a_batch_ends_as_its_events_each_applied_alone(world, tmp_path):
    alone = one_by_one_engine("scheduler", tmp_path)
    before = [
        new_event(about(case, data), source="/tests")
        for case, data in (
            ("CASE-9", graded("AUD-9")),
            ("CASE-9", moderated("good", audit_id="AUD-9")),
            ("CASE-10", graded("AUD-10")),
            ("CASE-10", inadequate("AUD-10")),
            ("CASE-11", graded("AUD-11")),
            ("CASE-11", inadequate("AUD-11")),
        )
    ]
    # Found again after an event of its case changed what the finding's handler reads: a
    # re-audit graded (refused, the conversation not held), a moderation that regrades it.
    # First in the batch: nothing before them has cleared what was read ahead.
    again = [
        ("CASE-10", graded("AUD-12", grade="good", reaudit_of="AUD-10")),
        ("CASE-10", inadequate("AUD-10", found_by="moderation")),
        ("CASE-11", moderated("good", audit_id="AUD-11")),
        ("CASE-11", inadequate("AUD-11", found_by="moderation")),
    ]
    batch = [
        *(new_event(about(case, data), source="/tests") for case, data in again),
        new_event(about("CASE-9", inadequate("AUD-9")), source="/tests"),
        *events(),
    ]
    applied = apply_both_ways("scheduler", world.handlers, before, batch, alone, world.engine)
    assert applied == [True] * len(batch)

    expected = outcome(alone)
    # one each, sorted as text
    found = ["AUD-1", "AUD-10", "AUD-11", "AUD-2", "AUD-4", "AUD-6", "AUD-7", "AUD-9"]
    assert sorted(expected.followups) == found
    assert expected.followups["AUD-11"]["status"] == "cancelled"  # regraded by moderation
    assert "reaudit refused" in expected.timeline["AUD-10"]
    assert expected.followups["AUD-1"]["found_by"] == "auditor"  # the first finding's
    assert outcome(world.engine) == expected


def test_a_batch_of_findings_reads_each_table_once(sqlite_engine):
    upgrade("scheduler", str(sqlite_engine.url))
    world = World(sqlite_engine)
    batch = [new_event(about(f"CASE-{n}", inadequate(f"AUD-{n}")), source="/t") for n in range(8)]
    selects: list[str] = []

    def seen(_conn, _cursor, statement, *_):
        if statement.startswith("SELECT"):
            selects.append(re.search(r"FROM (\w+)", statement)[1])

    sa_event.listen(sqlite_engine, "before_cursor_execute", seen)
    handled = [(event, world.handlers[type(event.data)]) for event in batch]
    process_batch(sqlite_engine, "scheduler", handled)
    # The processed events, then the follow-ups, gradings, moderations and re-audits of all
    # eight audits: one query each, none per event.
    assert sorted(selects) == sorted(
        ["processed_events", "audit_facts", "followups", "moderation_facts", "audit_facts"]
    )
