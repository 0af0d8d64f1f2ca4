"""The configured day: the month's programme drawn once its Nth working day has come."""

from datetime import UTC, date, datetime

from sqlmodel import Session, select

from services.audit.app import event_handlers
from services.audit.models import ProgrammeRow
from services.audit.programme_drawing import Programmes
from services.audit.programme_schedule import configured_day_draw, draw_day, programme_due
from shared.calendar import WorkingDayCalendar
from shared.clock import FixedClock
from shared.db import create_db_engine
from shared.events import CaseOpenedV2, new_event
from shared.inbox import process_once
from shared.migrations import upgrade
from shared.organisation import load_organisation

CALENDAR = WorkingDayCalendar()


def test_the_nth_working_day_skips_weekends_and_bank_holidays():
    # 1 January 2027 is a bank holiday (Friday): the first working day is Monday the 4th.
    assert draw_day(date(2027, 1, 1), 1, CALENDAR) == date(2027, 1, 4)
    assert draw_day(date(2027, 1, 1), 3, CALENDAR) == date(2027, 1, 6)
    assert draw_day(date(2026, 12, 1), 1, CALENDAR) == date(2026, 12, 1)


def test_the_draw_is_due_from_its_day_on_and_never_when_turned_off():
    assert not programme_due(date(2027, 1, 1), 1, CALENDAR)
    assert programme_due(date(2027, 1, 4), 1, CALENDAR)
    assert programme_due(date(2027, 1, 20), 1, CALENDAR)
    assert not programme_due(date(2027, 1, 5), 3, CALENDAR)
    assert not programme_due(date(2027, 1, 20), 0, CALENDAR)


def test_the_step_draws_the_month_once_with_a_recorded_random_seed(tmp_path):
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade("audit", url)
    engine = create_db_engine(url)
    ctx = Programmes(engine, load_organisation(), CALENDAR, 50)
    clock = FixedClock(datetime(2026, 12, 2, 9, tzinfo=UTC))
    step = configured_day_draw(ctx, 1, clock)
    step()  # nothing in the register: nothing eligible, so nothing stored
    with Session(engine) as session:
        assert session.exec(select(ProgrammeRow)).all() == []
    opened = CaseOpenedV2(
        case_id="CASE-1",
        team_id="EH-NORTH",
        practitioner_id="S0006",
        team_manager_id="S0005",
        plan_type="early_help",
        opened_on=date(2026, 10, 1),
        opened_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    process_once(
        engine, "qa-audit", new_event(opened, source="/cms"), event_handlers()[CaseOpenedV2]
    )
    step()
    step()
    with Session(engine) as session:
        [programme] = session.exec(select(ProgrammeRow)).all()
    assert (programme.month, programme.drawn_by, programme.size) == ("2026-12", None, 50)
    assert programme.eligible_cases == 1
    assert 0 <= programme.seed < 2**31
