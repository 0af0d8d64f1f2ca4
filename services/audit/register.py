"""The case register: who holds each case, and whether it is open, as the case management
system told us.

Case events arrive in any order, twice, or as a backfill, so the register orders them by their
own times, not by arrival, and keeps two facts apart, each from its own latest event: who holds
the case (the latest opening or allocation) and whether it is open (the latest of all three: an
opening or allocation opens it, a closing closes it). Every order and any duplicates of the same
events therefore end in the same entry. Ties of time are broken by what the events say, never by
arrival: a close and an opening at the same moment leave the case closed, two allocations at the
same moment the one whose team sorts last. Pure.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from services.audit.people import CaseAllocation
from shared.events import CaseAllocated, CaseClosed, CaseOpened

CaseEvent = CaseOpened | CaseAllocated | CaseClosed


@dataclass(frozen=True)
class RegisterEntry:
    """One case in the register; the people are empty while only its close is known."""

    case_id: str
    team_id: str
    practitioner_id: str
    team_manager_id: str
    open: bool
    as_of: datetime
    """When the latest event of any kind happened: what `open` follows."""
    allocated_as_of: datetime | None = None
    """When the latest opening or allocation happened: what the people follow."""


def _status_rank(when: datetime, event: CaseEvent) -> tuple[datetime, bool]:
    return (when, isinstance(event, CaseClosed))


def _people(entry: RegisterEntry) -> tuple[str, str, str]:
    return (entry.team_id, entry.practitioner_id, entry.team_manager_id)


def registered(entry: RegisterEntry | None, event: CaseEvent) -> RegisterEntry | None:
    """The entry after `event`, or None when the event changes nothing."""
    when = happened_at(event)
    after = entry or RegisterEntry(event.case_id, "", "", "", open=False, as_of=when)
    if entry is None or _status_rank(when, event) > (entry.as_of, not entry.open):
        after = replace(after, open=not isinstance(event, CaseClosed), as_of=when)
    if not isinstance(event, CaseClosed):
        people = (event.team_id, event.practitioner_id, event.team_manager_id)
        held = after.allocated_as_of
        if held is None or (when, people) > (held, _people(after)):
            after = replace(
                after,
                team_id=people[0],
                practitioner_id=people[1],
                team_manager_id=people[2],
                allocated_as_of=when,
            )
    return None if after == entry else after


def happened_at(event: CaseEvent) -> datetime:
    if isinstance(event, CaseOpened):
        return event.opened_at
    if isinstance(event, CaseAllocated):
        return event.allocated_at
    return event.closed_at


def allocation_of(entry: RegisterEntry | None) -> CaseAllocation | None:
    """What an audit is checked against: nothing when the case is unknown or known only closed."""
    if entry is None or not entry.team_id:
        return None
    return CaseAllocation(
        entry.case_id, entry.team_id, entry.practitioner_id, entry.team_manager_id, entry.open
    )
