"""A month's programme against its target: allocated, in progress, submitted, exempted,
declined and late, for the county, each team and each auditor. Pure: the repository hands in
the tallies the database counted over the allocations the caller may see (or the allocations,
tallied here the same way: what the database's tallies must equal), so the counting is tested
by hand.

"Allocated" counts the cases with a live or done allocation (allocated, in progress or
submitted): a declined allocation was reallocated, whose new allocation counts instead, and an
exempted case is counted apart, as the target counts exemptions separately.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import BaseModel

from services.audit.allocation_rules import COUNTED, is_late
from shared.calendar import WorkingDayCalendar, month_bounds
from shared.events.vocabulary import AllocationStatus
from shared.organisation import Organisation


@dataclass(frozen=True)
class AllocationFigure:
    """One allocation as the figures see it."""

    case_id: str
    team_id: str
    auditor_id: str
    status: AllocationStatus
    due_on: date


class TeamFigures(BaseModel):
    team_id: str
    team_name: str
    allocated: int
    submitted: int
    exempted: int
    late: int


class AuditorFigures(BaseModel):
    auditor_id: str
    allocated: int
    submitted: int
    late: int


class ProgrammeFigures(BaseModel):
    month: str
    target: int
    allocated: int
    in_progress: int
    submitted: int
    exempted: int
    declined: int
    late: int
    remaining_working_days: int
    by_team: list[TeamFigures]
    by_auditor: list[AuditorFigures]


@dataclass(frozen=True)
class AllocationTally:
    """Cases (allocated, in progress, submitted, exempted: each case once) and allocations
    (declined, late) of some allocations."""

    allocated: int = 0
    in_progress: int = 0
    submitted: int = 0
    exempted: int = 0
    declined: int = 0
    late: int = 0


@dataclass(frozen=True)
class ProgrammeTallies:
    """A month's tallies for the county, each team and each auditor that has allocations."""

    whole: AllocationTally
    by_team: Mapping[str, AllocationTally]
    by_auditor: Mapping[str, AllocationTally]


def _tally(rows: list[AllocationFigure], today: date) -> AllocationTally:
    def count(status: AllocationStatus) -> int:
        return len({row.case_id for row in rows if row.status is status})

    return AllocationTally(
        allocated=len({row.case_id for row in rows if row.status in COUNTED}),
        in_progress=count(AllocationStatus.IN_PROGRESS),
        submitted=count(AllocationStatus.SUBMITTED),
        exempted=count(AllocationStatus.EXEMPTED),
        declined=sum(1 for row in rows if row.status is AllocationStatus.DECLINED),
        late=sum(1 for row in rows if is_late(row.status, row.due_on, today)),
    )


def remaining_working_days(month: date, today: date, calendar: WorkingDayCalendar) -> int:
    """Working days of `month` from `today` on, today included; none once the month is over."""
    first, last = month_bounds(month)
    start = max(first, today)
    return calendar.working_days_between(start - timedelta(days=1), last) if start <= last else 0


def tallies_of(rows: Iterable[AllocationFigure], today: date) -> ProgrammeTallies:
    """The tallies of allocations one by one."""
    seen = list(rows)
    return ProgrammeTallies(
        whole=_tally(seen, today),
        by_team={
            team_id: _tally([row for row in seen if row.team_id == team_id], today)
            for team_id in {row.team_id for row in seen}
        },
        by_auditor={
            auditor_id: _tally([row for row in seen if row.auditor_id == auditor_id], today)
            for auditor_id in {row.auditor_id for row in seen}
        },
    )


def programme_figures(
    month: date,
    target: int,
    rows: Iterable[AllocationFigure],
    organisation: Organisation,
    today: date,
    calendar: WorkingDayCalendar,
) -> ProgrammeFigures:
    """The month's figures over `rows`; every team of the organisation appears, zeros too."""
    return figures_from_tallies(
        month, target, tallies_of(rows, today), organisation, today, calendar
    )


def figures_from_tallies(
    month: date,
    target: int,
    tallies: ProgrammeTallies,
    organisation: Organisation,
    today: date,
    calendar: WorkingDayCalendar,
) -> ProgrammeFigures:
    """The month's figures from its tallies; every team of the organisation appears, zeros
    too, and every auditor with an allocation, in order."""
    by_team = []
    for team in sorted(organisation.teams, key=lambda t: t.id):
        tally = tallies.by_team.get(team.id, AllocationTally())
        by_team.append(
            TeamFigures(
                team_id=team.id,
                team_name=team.name,
                allocated=tally.allocated,
                submitted=tally.submitted,
                exempted=tally.exempted,
                late=tally.late,
            )
        )
    by_auditor = [
        AuditorFigures(
            auditor_id=auditor_id,
            allocated=tally.allocated,
            submitted=tally.submitted,
            late=tally.late,
        )
        for auditor_id, tally in sorted(tallies.by_auditor.items())
    ]
    whole = tallies.whole
    return ProgrammeFigures(
        month=month.strftime("%Y-%m"),
        target=target,
        allocated=whole.allocated,
        in_progress=whole.in_progress,
        submitted=whole.submitted,
        exempted=whole.exempted,
        declined=whole.declined,
        late=whole.late,
        remaining_working_days=remaining_working_days(month, today, calendar),
        by_team=by_team,
        by_auditor=by_auditor,
    )
