"""Follow-up rules: due dates, reminders and escalation days. Pure: dates in, dates out.

The reflective conversation is due on the 5th working day after the grading day (which is not
counted); the re-audit 42 days after the conversation, rolled forward to a working day.
Reminders go out 2 working days before and on the due day; the working day after the due day
the follow-up is overdue and escalates, then again every N working days until done.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from shared.calendar import UK, WorkingDayCalendar
from shared.events.vocabulary import FollowUpOutcome, Grade

CONVERSATION_WORKING_DAYS = 5
REAUDIT_AFTER = timedelta(days=42)
REMINDER_WORKING_DAYS_BEFORE = 2


class TimerKind(StrEnum):
    TWO_WORKING_DAYS_BEFORE = "two_working_days_before"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class PlannedTimer:
    kind: TimerKind
    day: date


def conversation_due(grading_day: date, calendar: WorkingDayCalendar) -> date:
    return calendar.add_working_days(grading_day, CONVERSATION_WORKING_DAYS)


def reaudit_due(held_on: date, calendar: WorkingDayCalendar) -> date:
    return calendar.roll_forward(held_on + REAUDIT_AFTER)


def step_timers(due_on: date, calendar: WorkingDayCalendar) -> list[PlannedTimer]:
    """The reminders of a step and its first escalation."""
    return [
        PlannedTimer(
            TimerKind.TWO_WORKING_DAYS_BEFORE,
            calendar.working_days_before(due_on, REMINDER_WORKING_DAYS_BEFORE),
        ),
        PlannedTimer(TimerKind.DUE_TODAY, due_on),
        PlannedTimer(TimerKind.OVERDUE, calendar.next_working_day_after(due_on)),
    ]


def next_escalation(last: date, every: int, calendar: WorkingDayCalendar) -> date:
    return calendar.add_working_days(last, every)


def fire_time(day: date, starts_at_hour: int) -> datetime:
    """When a day's timers fire: the start of the UK working day, as an aware datetime."""
    return datetime.combine(day, time(starts_at_hour), tzinfo=UK)


def outcome_of(reaudit_grade: Grade) -> FollowUpOutcome:
    """Requires improvement or better is improvement; Inadequate again is not."""
    if reaudit_grade is Grade.INADEQUATE:
        return FollowUpOutcome.STILL_INADEQUATE
    return FollowUpOutcome.IMPROVED
