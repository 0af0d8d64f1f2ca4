from datetime import UTC, datetime

from sqlmodel import Session

from services.audit.handlers import _allocation, register_case
from shared.db import create_db_engine
from shared.events import CaseClosed, CaseOpened, new_event
from shared.inbox import process_once
from shared.migrations import upgrade

OPENED = CaseOpened(
    case_id="CASE-7",
    team_id="FS-SOUTH",
    practitioner_id="S0024",
    team_manager_id="S0023",
    opened_at=datetime(2026, 11, 1, tzinfo=UTC),
)
CLOSED = CaseClosed(case_id="CASE-7", closed_at=datetime(2026, 11, 20, tzinfo=UTC))


def register(engine, *events) -> None:
    for data in events:
        process_once(engine, "audit", new_event(data, source="/cms"), register_case)


def test_a_close_before_its_open_ends_closed_as_in_order(tmp_path):
    states = []
    for name, order in (("in-order", (OPENED, CLOSED)), ("reversed", (CLOSED, OPENED))):
        url = f"sqlite:///{tmp_path / name}.db"
        upgrade("audit", url)
        engine = create_db_engine(url)
        register(engine, *order)
        with Session(engine) as session:
            allocation = _allocation(session, "CASE-7")
        states.append(None if allocation is None else allocation.open)
    # In order the register knows the case and that it is closed; reversed, it knows only that
    # it is closed (the older open is ignored). Either way no audit is checked against it.
    assert states == [False, None]
