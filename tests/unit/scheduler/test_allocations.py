"""Programme allocations through the scheduler's own wiring, on SQLite with a controlled clock:
kept from AuditAllocated, reminded and escalated by the timer pass, called off by a
submission, decline or exemption in whichever order the events come, and replays harmless."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, col, select

from services.scheduler.metrics import ALLOCATIONS_SETTLED
from services.scheduler.models import AllocationRecord, Timer
from services.scheduler.retention import purge_followups
from services.scheduler.settings import SchedulerSettings
from shared.events import AuditAllocated, AuditDeclined, AuditExempted, AuditSubmitted
from shared.migrations import upgrade
from tests.unit.scheduler.test_followups import World

EH_HEAD, EH_SOUTH_MANAGER = "S0003", "S0009"
ALLOCATED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(sqlite_engine) -> World:
    upgrade("scheduler", str(sqlite_engine.url))
    return World(sqlite_engine).at("2026-11-02T09:00:00+00:00")


def facts(allocation_id: str = "ALC-1") -> dict[str, object]:
    """An early help case of EH-NORTH audited by the manager of EH-SOUTH, due Monday 30th."""
    return {
        "case_id": f"CASE-{allocation_id}",
        "allocation_id": allocation_id,
        "programme_id": "PRG-2026-11",
        "month": "2026-11",
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "practitioner_id": "S0006",
        "team_manager_id": "S0005",
        "auditor_id": EH_SOUTH_MANAGER,
        "due_on": date(2026, 11, 30),
    }


def allocated(allocation_id: str = "ALC-1") -> AuditAllocated:
    return AuditAllocated(**facts(allocation_id), allocated_by=None, allocated_at=ALLOCATED_AT)


def submitted(allocation_id: str = "ALC-1") -> AuditSubmitted:
    at = datetime(2026, 11, 27, 15, tzinfo=UTC)
    return AuditSubmitted(**facts(allocation_id), audit_id="AUD-9", submitted_at=at)


def declined(allocation_id: str = "ALC-1") -> AuditDeclined:
    return AuditDeclined(**facts(allocation_id), declined_at=datetime(2026, 11, 3, tzinfo=UTC))


def exempted(allocation_id: str = "ALC-1") -> AuditExempted:
    at = datetime(2026, 11, 3, tzinfo=UTC)
    return AuditExempted(**facts(allocation_id), exempted_by="S0001", exempted_at=at)


def timers(world: World) -> list[tuple[str, str, int, str, bool, bool]]:
    """Every allocation timer: (allocation, kind, sequence, day, fired, cancelled)."""
    with Session(world.engine) as session:
        rows = session.exec(
            select(Timer).where(Timer.allocation_id != "").order_by(col(Timer.id))
        ).all()
        return [
            (
                t.allocation_id,
                t.kind,
                t.sequence,
                t.fire_at.date().isoformat(),
                t.fired_at is not None,
                t.cancelled,
            )
            for t in rows
        ]


def live(world: World) -> list[tuple[str, str, int, str, bool, bool]]:
    return [t for t in timers(world) if not t[4] and not t[5]]


def allocation(world: World, allocation_id: str = "ALC-1") -> AllocationRecord:
    with Session(world.engine) as session:
        row = session.get(AllocationRecord, allocation_id)
        assert row is not None
        return row


def test_an_allocation_is_reminded_twice_then_escalated_to_the_auditors_manager_repeatedly(world):
    world.deliver(allocated())
    assert timers(world) == [
        ("ALC-1", "two_working_days_before", 0, "2026-11-26", False, False),
        ("ALC-1", "due_today", 0, "2026-11-30", False, False),
        ("ALC-1", "overdue", 0, "2026-12-01", False, False),
    ]
    assert world.new_events() == []  # the allocation itself is the audit service's to announce
    assert world.at("2026-11-26T07:59:00+00:00").tick() == 0
    assert world.at("2026-11-26T08:00:00+00:00").tick() == 1
    [(kind, reminder)] = world.new_events()
    assert (kind, reminder["reminder"], reminder["allocation_id"], reminder["auditor_id"]) == (
        "qa.allocation.reminder-due.v1",
        "two_working_days_before",
        "ALC-1",
        EH_SOUTH_MANAGER,
    )
    assert world.at("2026-11-30T08:00:00+00:00").tick() == 1
    assert [e["reminder"] for _, e in world.new_events()] == ["due_today"]

    assert world.at("2026-12-01T08:00:00+00:00").tick() == 1
    [(kind, overdue)] = world.new_events()
    assert kind == "qa.allocation.overdue.v1"
    assert (overdue["escalated_to_id"], overdue["working_days_overdue"]) == (EH_HEAD, 1)
    assert overdue["due_on"] == "2026-11-30"
    assert world.tick() == 0  # fired once
    assert world.at("2026-12-03T08:00:00+00:00").tick() == 1
    [(_, again)] = world.new_events()
    assert again["working_days_overdue"] == 3
    assert live(world) == [("ALC-1", "overdue", 2, "2026-12-07", False, False)]


def settled_count(how: str) -> float:
    return ALLOCATIONS_SETTLED.labels(how)._value.get()


@pytest.mark.parametrize(
    ("settlement", "status"),
    [(submitted, "submitted"), (declined, "declined"), (exempted, "exempted")],
)
def test_a_settlement_calls_off_the_timers_not_yet_fired(world, settlement, status):
    world.deliver(allocated())
    world.at("2026-11-26T09:00:00+00:00").tick()
    world.new_events()
    counted = settled_count(status)
    world.deliver(settlement())
    world.deliver(settlement())  # again, in a new envelope: counted once
    assert settled_count(status) == counted + 1
    assert live(world) == []
    assert [t[1:] for t in timers(world)] == [
        ("two_working_days_before", 0, "2026-11-26", True, False),
        ("due_today", 0, "2026-11-30", False, True),
        ("overdue", 0, "2026-12-01", False, True),
    ]
    assert world.at("2026-12-15T09:00:00+00:00").tick() == 0
    assert world.new_events() == []
    assert allocation(world).status == status


def test_a_submission_after_the_escalation_stops_the_repeats(world):
    world.deliver(allocated())
    world.at("2026-12-01T09:00:00+00:00").tick()
    assert [k for k, _ in world.new_events()][-1] == "qa.allocation.overdue.v1"
    world.deliver(submitted())
    assert live(world) == []
    assert world.at("2026-12-03T09:00:00+00:00").tick() == 0
    assert world.new_events() == []


@pytest.mark.parametrize("settlement", [submitted, declined, exempted])
def test_a_settlement_arriving_before_its_allocation_leaves_no_live_timers(world, settlement):
    world.deliver(settlement())
    world.deliver(allocated())
    assert timers(world) == []
    row = allocation(world)
    assert row.status != "allocated"
    assert row.allocated_at == ALLOCATED_AT  # the allocation is remembered, and chased by nobody
    assert world.at("2026-12-15T09:00:00+00:00").tick() == 0
    assert world.new_events() == []


def test_events_sent_again_with_new_ids_change_nothing(world):
    world.deliver(allocated())
    world.deliver(allocated())  # a replay: a fresh envelope, so the inbox cannot tell
    assert len(timers(world)) == 3
    world.deliver(submitted())
    settled = allocation(world)
    world.deliver(declined())  # a late, contradicting settlement: the first stands
    world.deliver(allocated())
    assert allocation(world) == settled
    assert (settled.status, settled.audit_id) == ("submitted", "AUD-9")
    assert len(timers(world)) == 3
    assert live(world) == []


def test_allocations_have_timers_of_their_own_beside_each_other(world):
    world.deliver(allocated("ALC-1"))
    world.deliver(allocated("ALC-2"))
    world.deliver(exempted("ALC-2"))
    assert {t[0] for t in live(world)} == {"ALC-1"}
    world.at("2026-12-01T09:00:00+00:00").tick()
    assert {e["allocation_id"] for _, e in world.new_events()} == {"ALC-1"}


def test_a_settled_allocation_goes_with_its_timers_after_the_case_record_period(world):
    world.deliver(allocated("ALC-1"))
    world.deliver(submitted("ALC-1"))
    world.deliver(allocated("ALC-2"))  # still awaited: kept however old
    settings = SchedulerSettings(
        kafka_bootstrap_servers="127.0.0.1:9", case_record_retention_days=30
    )
    purge_followups(world.engine, datetime(2026, 12, 1, tzinfo=UTC), settings)
    assert {t[0] for t in timers(world)} == {"ALC-1", "ALC-2"}
    purge_followups(world.engine, datetime(2027, 1, 15, tzinfo=UTC), settings)
    with Session(world.engine) as session:
        assert [r.id for r in session.exec(select(AllocationRecord)).all()] == ["ALC-2"]
    assert {t[0] for t in timers(world)} == {"ALC-2"}
