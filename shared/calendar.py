"""Working days in England: Monday to Friday, less England and Wales bank holidays.

Bank holidays come from the maintained `holidays` library (England subdivision, substitute
days included), never from a hand-typed list.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

ONE_DAY = timedelta(days=1)
UK = ZoneInfo("Europe/London")
"""Local time of the councils: working days start and end by it."""


class WorkingDayCalendar:
    """Answers working-day questions; holiday years are loaded on demand."""

    def __init__(self) -> None:
        self._bank_holidays = holidays.country_holidays("GB", subdiv="ENG")

    def is_bank_holiday(self, day: date) -> bool:
        return day in self._bank_holidays

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_bank_holiday(day)

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start`; `start` itself is never counted."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        for _ in range(count):
            day = self.next_working_day_after(day)
        return day

    def next_working_day_after(self, day: date) -> date:
        day += ONE_DAY
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def working_days_before(self, day: date, count: int) -> date:
        """The working day `count` working days before `day`."""
        for _ in range(count):
            day -= ONE_DAY
            while not self.is_working_day(day):
                day -= ONE_DAY
        return day

    def roll_forward(self, day: date) -> date:
        """`day` itself when it is a working day, else the next working day."""
        return day if self.is_working_day(day) else self.next_working_day_after(day)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            count += self.is_working_day(day)
        return count

    def bank_holidays_in(self, year: int) -> list[date]:
        """The bank holidays people get off in `year`: weekdays only, substitutes included."""
        self._bank_holidays.get(date(year, 1, 1))  # loads the year
        return sorted(d for d in self._bank_holidays if d.year == year and d.weekday() < 5)


def month_bounds(day: date) -> tuple[date, date]:
    """First and last day of `day`'s month."""
    first = day.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return first, next_first - ONE_DAY


def uk_day_start(day: date) -> datetime:
    """The first instant of `day` as the council's clocks count it (UK time), given in UTC.

    Months and days in statistics are UK ones: an audit graded at 00:30 BST on 1 June
    (23:30 UTC on 31 May) counts in June, as the auditor dated it.
    """
    return datetime.combine(day, time.min, tzinfo=UK).astimezone(UTC)


def uk_month(moment: datetime) -> str:
    """`YYYY-MM` of an instant, in UK time."""
    return moment.astimezone(UK).strftime("%Y-%m")


def uk_day(moment: datetime) -> date:
    """The UK calendar day of an instant (what "today" and "the grading day" mean)."""
    return moment.astimezone(UK).date()


def month_start(month: str) -> date:
    """The first day of a `YYYY-MM` month."""
    return date.fromisoformat(f"{month}-01")


def months_span(from_month: str, to_month: str) -> tuple[date, date]:
    """The first day of `from_month` and the last day of `to_month` (`YYYY-MM` each)."""
    return month_start(from_month), month_bounds(month_start(to_month))[1]
