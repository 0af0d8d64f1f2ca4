from datetime import date

import pytest

from services.scheduler.domain import (
    TimerKind,
    conversation_due,
    fire_time,
    outcome_of,
    reaudit_due,
    step_timers,
)
from shared.calendar import WorkingDayCalendar
from shared.events.vocabulary import Grade

calendar = WorkingDayCalendar()


@pytest.mark.parametrize(
    ("graded", "due"),
    [
        (date(2026, 11, 23), date(2026, 11, 30)),  # Monday -> next Monday
        (date(2026, 11, 27), date(2026, 12, 4)),  # Friday -> next Friday
        (date(2026, 11, 28), date(2026, 12, 4)),  # graded on a Saturday: Mon..Fri
        (date(2026, 12, 21), date(2026, 12, 30)),  # 22, 23, 24, 29, 30: skips 25 and the 28th
        (date(2026, 12, 23), date(2027, 1, 4)),  # 24, 29, 30, 31, 4 Jan: New Year's Day too
        (date(2027, 3, 24), date(2027, 4, 2)),  # 25, 30, 31 Mar, 1, 2 Apr: skips Easter
        (date(2027, 12, 22), date(2027, 12, 31)),  # 23, 24, 29, 30, 31: substitutes on 27 and 28
    ],
)
def test_reflective_conversation_is_due_on_the_fifth_working_day_after_grading(graded, due):
    assert conversation_due(graded, calendar) == due


@pytest.mark.parametrize(
    ("held", "due"),
    [
        (date(2026, 10, 14), date(2026, 11, 25)),  # 42 days later, a Wednesday
        (date(2026, 11, 14), date(2026, 12, 29)),  # lands on Sat 26 Dec -> Tue 29 (28th substitute)
        (date(2027, 2, 12), date(2027, 3, 30)),  # lands on Good Friday 26 Mar -> Tue 30 Mar
    ],
)
def test_reaudit_is_due_42_days_after_the_conversation_rolled_to_a_working_day(held, due):
    assert reaudit_due(held, calendar) == due


def test_reminders_come_two_working_days_before_and_on_the_day_then_escalation_after():
    timers = step_timers(date(2027, 1, 4), calendar)
    assert [(t.kind, t.day) for t in timers] == [
        (TimerKind.TWO_WORKING_DAYS_BEFORE, date(2026, 12, 30)),
        (TimerKind.DUE_TODAY, date(2027, 1, 4)),
        (TimerKind.OVERDUE, date(2027, 1, 5)),
    ]


def test_timers_fire_at_the_start_of_the_uk_working_day_in_summer_and_winter():
    assert fire_time(date(2026, 7, 1), 8).isoformat() == "2026-07-01T08:00:00+01:00"
    assert fire_time(date(2026, 12, 1), 8).isoformat() == "2026-12-01T08:00:00+00:00"


@pytest.mark.parametrize(
    ("grade", "outcome"),
    [
        (Grade.OUTSTANDING, "improved"),
        (Grade.GOOD, "improved"),
        (Grade.REQUIRES_IMPROVEMENT, "improved"),
        (Grade.INADEQUATE, "still_inadequate"),
    ],
)
def test_reaudit_outcome(grade, outcome):
    assert outcome_of(grade) == outcome
