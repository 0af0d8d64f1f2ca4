"""Grade distribution (the report's chart, section 2.4) and progress against the monthly target.

Pure functions over the counts the database hands in (or rows, tallied here the same way), so
the arithmetic is tested by hand.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from shared.calendar import WorkingDayCalendar, month_bounds, uk_month
from shared.events.vocabulary import Grade


class Grouping(StrEnum):
    COUNTY = "county"
    SERVICE_AREA = "service_area"
    AREA = "area"
    TEAM = "team"


@dataclass(frozen=True)
class GradedRow:
    graded_at: datetime
    overall_grade: Grade
    team_id: str
    service_area: str
    area: str

    def group(self, by: Grouping) -> str:
        return {
            Grouping.COUNTY: "county",
            Grouping.SERVICE_AREA: self.service_area,
            Grouping.AREA: self.area,
            Grouping.TEAM: self.team_id,
        }[by]


@dataclass(frozen=True)
class GradeCount:
    """How many audits of a UK month and group were graded `grade` (what a GROUP BY gives)."""

    month: str
    group: str
    grade: Grade
    count: int


GradeTallies = dict[tuple[str, str], Counter[Grade]]
"""Audits by grade, for each (UK month, group) that has any."""


def tallies_of(counts: Iterable[GradeCount]) -> GradeTallies:
    tallies: GradeTallies = defaultdict(Counter)
    for count in counts:
        tallies[(count.month, count.group)][count.grade] += count.count
    return tallies


def tallies_of_rows(rows: Iterable[GradedRow], by: Grouping) -> GradeTallies:
    tallies: GradeTallies = defaultdict(Counter)
    for row in rows:
        tallies[(uk_month(row.graded_at), row.group(by))][row.overall_grade] += 1
    return tallies


class GradeBucket(BaseModel):
    month: str
    group: str
    total: int
    counts: dict[Grade, int]
    percentages: dict[Grade, float]


def grade_distribution(rows: Iterable[GradedRow], by: Grouping) -> list[GradeBucket]:
    """`grade_buckets` of audits one by one (what the counts the database gives must equal)."""
    return grade_buckets(tallies_of_rows(rows, by))


def grade_buckets(tallies: GradeTallies) -> list[GradeBucket]:
    """Count and % of audits per overall grade, for each month and group that has audits
    (months then groups in order, best grade first)."""
    buckets = []
    for (month, group), tally in sorted(tallies.items()):
        total = sum(tally.values())
        buckets.append(
            GradeBucket(
                month=month,
                group=group,
                total=total,
                counts={grade: tally[grade] for grade in Grade},
                percentages={grade: round(100 * tally[grade] / total, 1) for grade in Grade},
            )
        )
    return buckets


class TargetProgress(BaseModel):
    month: str
    target: int
    done: int
    remaining: int
    working_days_in_month: int
    working_days_left: int
    expected_by_now: int
    on_pace: bool
    needed_per_working_day: float


def target_progress(
    done: int,
    target: int,
    today: date,
    calendar: WorkingDayCalendar,
    month: date | None = None,
) -> TargetProgress:
    """How far `month`'s audits (today's month unless given) are from the target, and the pace
    needed from today on: a month gone by has no working days left (what was not done is
    still needed), a month to come has all of them."""
    first, last = month_bounds(month or today)
    before_month = first - timedelta(days=1)
    in_month = calendar.working_days_between(before_month, last)
    upto = min(max(today, first), last + timedelta(days=1))
    elapsed = calendar.working_days_between(before_month, upto - timedelta(days=1))
    left = in_month - elapsed
    remaining = max(0, target - done)
    expected = math.floor(target * elapsed / in_month) if in_month else target
    return TargetProgress(
        month=first.strftime("%Y-%m"),
        target=target,
        done=done,
        remaining=remaining,
        working_days_in_month=in_month,
        working_days_left=left,
        expected_by_now=expected,
        on_pace=done >= expected,
        needed_per_working_day=round(remaining / left, 1) if left else float(remaining),
    )
