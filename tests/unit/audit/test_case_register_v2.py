"""Version 2 case events in the register: what the case is, beside who holds it, follows the
latest opening or allocation of either version, whatever the order of arrival."""

from datetime import UTC, date, datetime
from itertools import permutations

from sqlmodel import Session

from services.audit.app import event_handlers
from services.audit.models import RegisteredCase
from services.audit.register import CaseFacts, RegisterEntry, registered
from shared.db import create_db_engine
from shared.events import (
    CaseAllocated,
    CaseAllocatedV2,
    CaseClosed,
    CaseOpened,
    CaseOpenedV2,
    new_event,
)
from shared.inbox import process_once
from shared.migrations import upgrade

PEOPLE = {"team_id": "EH-NORTH", "practitioner_id": "S0006", "team_manager_id": "S0005"}
OPENED_V2 = CaseOpenedV2(
    case_id="CASE-8",
    **PEOPLE,
    plan_type="early_help",
    legal_status=None,
    opened_on=date(2026, 10, 30),
    opened_at=datetime(2026, 11, 1, tzinfo=UTC),
)
MOVED_V1 = CaseAllocated(
    case_id="CASE-8",
    team_id="AI-SOUTH",
    practitioner_id="S0024",
    team_manager_id="S0023",
    allocated_at=datetime(2026, 11, 5, tzinfo=UTC),
)
PLAN_V2 = CaseAllocatedV2(
    case_id="CASE-8",
    team_id="FS-NORTH",
    practitioner_id="S0034",
    team_manager_id="S0033",
    plan_type="child_protection",
    legal_status="C2",
    opened_on=date(2026, 10, 30),
    closing_on=date(2027, 3, 31),
    allocated_at=datetime(2026, 11, 10, tzinfo=UTC),
)
CLOSED = CaseClosed(case_id="CASE-8", closed_at=datetime(2026, 11, 20, tzinfo=UTC))
PROTECTION = CaseFacts("child_protection", "C2", date(2026, 10, 30), date(2027, 3, 31))


def final_entry(events) -> RegisterEntry | None:
    entry = None
    for event in events:
        entry = registered(entry, event) or entry
    return entry


def test_a_v2_opening_registers_the_plan_and_dates_beside_the_people():
    entry = registered(None, OPENED_V2)
    assert entry == RegisterEntry(
        "CASE-8",
        "EH-NORTH",
        "S0006",
        "S0005",
        open=True,
        as_of=OPENED_V2.opened_at,
        allocated_as_of=OPENED_V2.opened_at,
        facts=CaseFacts("early_help", None, date(2026, 10, 30), None),
    )


def test_a_later_v1_allocation_moves_the_case_and_leaves_its_plan_unknown():
    entry = final_entry((OPENED_V2, MOVED_V1))
    assert entry is not None
    assert (entry.team_id, entry.facts) == ("AI-SOUTH", CaseFacts())


def test_an_older_v1_event_does_not_undo_what_a_later_v2_said():
    entry = final_entry((PLAN_V2, MOVED_V1, OPENED_V2))
    assert entry is not None
    assert (entry.team_id, entry.facts) == ("FS-NORTH", PROTECTION)


def test_v1_and_v2_events_in_every_order_and_with_duplicates_reach_the_same_entry():
    events = (OPENED_V2, MOVED_V1, PLAN_V2, CLOSED)
    ends = set()
    for order in permutations(events):
        for doubled in range(len(order)):
            ends.add(final_entry((*order[: doubled + 1], order[doubled], *order[doubled + 1 :])))
    assert ends == {
        RegisterEntry(
            "CASE-8",
            "FS-NORTH",
            "S0034",
            "S0033",
            open=False,
            as_of=CLOSED.closed_at,
            allocated_as_of=PLAN_V2.allocated_at,
            facts=PROTECTION,
        )
    }


def test_a_v1_and_a_v2_allocation_at_the_same_moment_end_alike_in_either_order():
    same_v1 = CaseAllocated(**{**MOVED_V1.model_dump(), "allocated_at": PLAN_V2.allocated_at})
    same_people_v1 = CaseAllocated(
        case_id="CASE-8",
        team_id="FS-NORTH",
        practitioner_id="S0034",
        team_manager_id="S0033",
        allocated_at=PLAN_V2.allocated_at,
    )
    for rival in (same_v1, same_people_v1):
        assert final_entry((rival, PLAN_V2)) == final_entry((PLAN_V2, rival))
    # Same people: the one that says more (the v2) wins.
    entry = final_entry((PLAN_V2, same_people_v1))
    assert entry is not None
    assert entry.facts == PROTECTION


def test_v1_events_alone_still_register_as_before():
    opened = CaseOpened(case_id="CASE-8", **PEOPLE, opened_at=datetime(2026, 11, 1, tzinfo=UTC))
    entry = registered(None, opened)
    assert entry is not None
    assert (entry.team_id, entry.open, entry.facts) == ("EH-NORTH", True, CaseFacts())


def test_the_stored_register_row_holds_the_v2_facts_and_the_teams_service_area(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade("audit", url)
    engine = create_db_engine(url)
    handlers = event_handlers()
    for data in (PLAN_V2, OPENED_V2, MOVED_V1):
        process_once(engine, "audit", new_event(data, source="/cms"), handlers[type(data)])
    with Session(engine) as session:
        row = session.get(RegisteredCase, "CASE-8")
    assert row is not None
    assert (
        row.team_id,
        row.service_area,
        row.plan_type,
        row.legal_status,
        row.opened_on,
        row.closing_on,
        row.open,
    ) == (
        "FS-NORTH",
        "family_safeguarding",
        "child_protection",
        "C2",
        date(2026, 10, 30),
        date(2027, 3, 31),
        True,
    )


def test_a_team_the_organisation_does_not_know_is_registered_without_a_service_area(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade("audit", url)
    engine = create_db_engine(url)
    unknown = CaseOpenedV2(**{**OPENED_V2.model_dump(), "team_id": "NOWHERE"})
    process_once(engine, "audit", new_event(unknown, source="/cms"), event_handlers()[CaseOpenedV2])
    with Session(engine) as session:
        row = session.get(RegisteredCase, "CASE-8")
    assert row is not None
    assert (row.team_id, row.service_area, row.plan_type) == ("NOWHERE", None, "early_help")
