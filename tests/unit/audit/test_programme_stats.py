"""The programme's figures against a hand-counted month (programme_stats)."""

from datetime import date

from services.audit.programme_stats import (
    AllocationFigure,
    programme_figures,
    remaining_working_days,
)
from shared.calendar import WorkingDayCalendar
from shared.events.vocabulary import AllocationStatus as S
from shared.organisation import load_organisation

CALENDAR = WorkingDayCalendar()
DECEMBER = date(2026, 12, 1)
DUE = date(2026, 12, 31)
ROWS = [
    # case, team, auditor, status: counted by hand below
    AllocationFigure("C1", "EH-NORTH", "S0031", S.SUBMITTED, DUE),
    AllocationFigure("C2", "EH-NORTH", "S0031", S.IN_PROGRESS, date(2026, 12, 10)),  # late
    AllocationFigure("C3", "EH-NORTH", "S0019", S.DECLINED, DUE),  # reallocated as C3 below
    AllocationFigure("C3", "EH-NORTH", "S0023", S.ALLOCATED, DUE),
    AllocationFigure("C4", "FS-SOUTH", "S0005", S.EXEMPTED, date(2026, 12, 10)),  # never late
    AllocationFigure("C5", "FS-SOUTH", "S0005", S.ALLOCATED, date(2026, 12, 11)),  # late
]


def test_a_hand_counted_month():
    figures = programme_figures(
        DECEMBER, 50, ROWS, load_organisation(), date(2026, 12, 14), CALENDAR
    )
    # allocated: C1, C2, C3 (the reallocation), C5 = 4; C4 exempted apart; one decline.
    assert (figures.target, figures.allocated, figures.in_progress, figures.submitted) == (
        50,
        4,
        1,
        1,
    )
    assert (figures.exempted, figures.declined, figures.late) == (1, 1, 2)
    # 14 to 31 December 2026: 14 weekdays, less Christmas Day and Boxing Day (the 28th).
    assert figures.remaining_working_days == 12
    teams = {t.team_id: (t.allocated, t.submitted, t.exempted, t.late) for t in figures.by_team}
    assert teams["EH-NORTH"] == (3, 1, 0, 1)
    assert teams["FS-SOUTH"] == (1, 0, 1, 1)
    assert teams["CL-WEST"] == (0, 0, 0, 0)
    assert len(teams) == 15
    auditors = {a.auditor_id: (a.allocated, a.submitted, a.late) for a in figures.by_auditor}
    assert auditors == {
        "S0005": (1, 0, 1),
        "S0019": (0, 0, 0),
        "S0023": (1, 0, 0),
        "S0031": (2, 1, 1),
    }


def test_a_month_with_no_allocations_shows_every_team_at_zero():
    figures = programme_figures(DECEMBER, 50, [], load_organisation(), date(2026, 11, 26), CALENDAR)
    assert (figures.allocated, figures.late, len(figures.by_team), figures.by_auditor) == (
        0,
        0,
        15,
        [],
    )
    assert {t.allocated for t in figures.by_team} == {0}


def test_working_days_left_count_today_and_none_once_the_month_is_over():
    assert remaining_working_days(DECEMBER, date(2026, 11, 26), CALENDAR) == 21  # all of them
    assert remaining_working_days(DECEMBER, date(2026, 12, 31), CALENDAR) == 1
    assert remaining_working_days(DECEMBER, date(2027, 1, 4), CALENDAR) == 0
