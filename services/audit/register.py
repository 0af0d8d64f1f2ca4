"""The case register: who holds each case, as the case management system last told us.

Case events may arrive in any order. Each carries when it happened, and the register keeps the
latest: an event older than the entry changes nothing. A close that arrives before its open is
kept, so the older open that follows changes nothing either; the register then knows only that
the case is closed, which is as good as not knowing it when an audit is checked. Pure.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from services.audit.people import CaseAllocation
from shared.events import CaseAllocated, CaseClosed, CaseOpened

CaseEvent = CaseOpened | CaseAllocated | CaseClosed


@dataclass(frozen=True)
class RegisterEntry:
    """One case in the register; the people are empty when only its close is known."""

    case_id: str
    team_id: str
    practitioner_id: str
    team_manager_id: str
    open: bool
    as_of: datetime


def registered(entry: RegisterEntry | None, event: CaseEvent) -> RegisterEntry | None:
    """The entry after `event`, or None when the event changes nothing."""
    when = happened_at(event)
    if entry is not None and entry.as_of > when:
        return None
    if isinstance(event, CaseClosed):
        held = entry or RegisterEntry(event.case_id, "", "", "", open=False, as_of=when)
        return replace(held, open=False, as_of=when)
    return RegisterEntry(
        case_id=entry.case_id if entry else event.case_id,
        team_id=event.team_id,
        practitioner_id=event.practitioner_id,
        team_manager_id=event.team_manager_id,
        open=True,
        as_of=when,
    )


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
