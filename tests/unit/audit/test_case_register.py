from dataclasses import replace
from datetime import UTC, datetime
from itertools import permutations

from sqlmodel import Session

from services.audit.app import event_handlers
from services.audit.handlers import CASE_EVENTS, register_entry
from services.audit.people import CaseAllocation
from services.audit.register import RegisterEntry, allocation_of, registered
from shared.db import create_db_engine
from shared.events import CaseAllocated, CaseClosed, CaseOpened, new_event
from shared.inbox import process_once
from shared.migrations import upgrade

OPENED = CaseOpened(
    case_id="CASE-7",
    team_id="FS-SOUTH",
    practitioner_id="S0024",
    team_manager_id="S0023",
    opened_at=datetime(2026, 11, 1, tzinfo=UTC),
)
ALLOCATED = CaseAllocated(
    case_id="CASE-7",
    team_id="FS-NORTH",
    practitioner_id="S0030",
    team_manager_id="S0029",
    allocated_at=datetime(2026, 11, 10, tzinfo=UTC),
)
CLOSED = CaseClosed(case_id="CASE-7", closed_at=datetime(2026, 11, 20, tzinfo=UTC))
OPEN_ENTRY = RegisterEntry(
    "CASE-7",
    "FS-SOUTH",
    "S0024",
    "S0023",
    open=True,
    as_of=OPENED.opened_at,
    allocated_as_of=OPENED.opened_at,
)


def register(engine, *events) -> None:
    handlers = event_handlers()
    for data in events:
        process_once(engine, "audit", new_event(data, source="/cms"), handlers[type(data)])


def test_a_close_before_its_open_ends_as_in_order(tmp_path):
    states = []
    for name, order in (("in-order", (OPENED, CLOSED)), ("reversed", (CLOSED, OPENED))):
        url = f"sqlite:///{tmp_path / name}.db"
        upgrade("audit", url)
        engine = create_db_engine(url)
        register(engine, *order)
        with Session(engine) as session:
            states.append(allocation_of(register_entry(session, "CASE-7")))
    # Either way the register knows who held the case and that it is closed.
    assert states == [CaseAllocation("CASE-7", "FS-SOUTH", "S0024", "S0023", open=False)] * 2


def test_an_opening_registers_who_holds_the_case_and_opens_it():
    assert registered(None, OPENED) == OPEN_ENTRY


def test_an_allocation_moves_the_case_to_the_new_team_and_people():
    assert registered(OPEN_ENTRY, ALLOCATED) == RegisterEntry(
        "CASE-7",
        "FS-NORTH",
        "S0030",
        "S0029",
        open=True,
        as_of=ALLOCATED.allocated_at,
        allocated_as_of=ALLOCATED.allocated_at,
    )


def test_an_allocation_of_a_case_not_yet_known_registers_it_open():
    entry = registered(None, ALLOCATED)
    assert entry is not None
    assert (entry.team_id, entry.open) == ("FS-NORTH", True)


def test_a_close_keeps_who_held_the_case_and_marks_it_closed():
    assert registered(OPEN_ENTRY, CLOSED) == RegisterEntry(
        "CASE-7",
        "FS-SOUTH",
        "S0024",
        "S0023",
        open=False,
        as_of=CLOSED.closed_at,
        allocated_as_of=OPENED.opened_at,
    )


def test_an_event_older_than_the_entry_changes_nothing():
    later = registered(OPEN_ENTRY, ALLOCATED)
    assert registered(later, OPENED) is None


def test_a_close_before_its_open_keeps_the_case_closed_and_learns_who_held_it():
    closed = registered(None, CLOSED)
    assert closed == RegisterEntry("CASE-7", "", "", "", open=False, as_of=CLOSED.closed_at)
    reopened_late = registered(closed, OPENED)
    assert reopened_late == replace(
        OPEN_ENTRY, open=False, as_of=CLOSED.closed_at, allocated_as_of=OPENED.opened_at
    )
    assert registered(reopened_late, OPENED) is None  # a duplicate changes nothing


def test_a_case_reopened_after_its_close_is_open_again():
    reopened = CaseOpened(
        **{**OPENED.model_dump(), "opened_at": datetime(2026, 11, 25, tzinfo=UTC)}
    )
    entry = registered(registered(OPEN_ENTRY, CLOSED), reopened)
    assert entry is not None
    assert entry.open


def test_a_close_and_an_opening_at_the_same_moment_leave_the_case_closed_in_either_order():
    same = CaseOpened(**{**OPENED.model_dump(), "opened_at": CLOSED.closed_at})
    for order in ((same, CLOSED), (CLOSED, same)):
        entry = None
        for event in order:
            entry = registered(entry, event) or entry
        assert entry is not None
        assert not entry.open, order


def test_every_order_and_any_duplicates_of_a_cases_events_reach_the_same_entry():
    events = (OPENED, ALLOCATED, CLOSED)
    ends = set()
    for order in permutations(events):
        for doubled in range(len(order)):  # each order, with each event delivered twice too
            entry = None
            for event in (*order[: doubled + 1], order[doubled], *order[doubled + 1 :]):
                entry = registered(entry, event) or entry
            ends.add(entry)
    assert ends == {
        RegisterEntry(
            "CASE-7",
            "FS-NORTH",
            "S0030",
            "S0029",
            open=False,
            as_of=CLOSED.closed_at,
            allocated_as_of=ALLOCATED.allocated_at,
        )
    }


def test_whatever_the_order_of_arrival_a_case_closed_last_ends_closed():
    for order in permutations((OPENED, ALLOCATED, CLOSED)):
        entry = None
        for event in order:
            entry = registered(entry, event) or entry
        assert entry is not None
        assert (entry.open, entry.as_of) == (False, CLOSED.closed_at), order


def test_an_audit_is_checked_against_the_register_only_when_it_knows_the_team():
    assert allocation_of(None) is None
    assert allocation_of(registered(None, CLOSED)) is None
    assert allocation_of(OPEN_ENTRY) == CaseAllocation(
        "CASE-7", "FS-SOUTH", "S0024", "S0023", open=True
    )
    assert allocation_of(registered(OPEN_ENTRY, CLOSED)) == CaseAllocation(
        "CASE-7", "FS-SOUTH", "S0024", "S0023", open=False
    )


def test_the_service_keeps_the_register_from_every_case_event_of_either_version():
    handlers = event_handlers()
    assert len({handlers[kind] for kind in CASE_EVENTS}) == 1
