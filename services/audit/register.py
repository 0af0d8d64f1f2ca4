"""The case register: who holds each case, what the case is, and whether it is open, as the case
management system told us.

Case events arrive in any order, twice, or as a backfill, so the register orders them by their
own times, not by arrival, and keeps two facts apart, each from its own latest event: who holds
the case and what it is (the latest opening or allocation: people, plan type, legal status,
opening and planned closing dates) and whether it is open (the latest of all three: an opening
or allocation opens it, a closing closes it). Version 1 and version 2 events count alike; a v1
one says nothing of the plan, so when it is the latest the plan facts are unknown (None), as
the contract says of v1. Every order and any duplicates of the same events therefore end in the
same entry. Ties of time are broken by what the events say, never by arrival: a close and an
opening at the same moment leave the case closed, two allocations at the same moment the one
whose team (then people, then plan) sorts last. Pure.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime

from services.audit.people import CaseAllocation
from shared.events import CaseAllocated, CaseAllocatedV2, CaseClosed, CaseOpened, CaseOpenedV2

CaseHeld = CaseOpened | CaseAllocated | CaseOpenedV2 | CaseAllocatedV2
CaseEvent = CaseHeld | CaseClosed


@dataclass(frozen=True)
class CaseFacts:
    """What a v2 event says the case is; all None when the latest holder event was v1."""

    plan_type: str | None = None
    legal_status: str | None = None
    opened_on: date | None = None
    closing_on: date | None = None

    def _rank(self) -> tuple[str, str, str, str]:
        return (
            self.plan_type or "",
            self.legal_status or "",
            self.opened_on.isoformat() if self.opened_on else "",
            self.closing_on.isoformat() if self.closing_on else "",
        )


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
    """When the latest opening or allocation happened: what the people and facts follow."""
    facts: CaseFacts = CaseFacts()


def _status_rank(when: datetime, event: CaseEvent) -> tuple[datetime, bool]:
    return (when, isinstance(event, CaseClosed))


def _holding(entry: RegisterEntry) -> tuple[tuple[str, str, str], tuple[str, str, str, str]]:
    return (entry.team_id, entry.practitioner_id, entry.team_manager_id), entry.facts._rank()


def facts_of(event: CaseHeld) -> CaseFacts:
    if isinstance(event, CaseOpened | CaseAllocated):
        return CaseFacts()
    return CaseFacts(event.plan_type.value, event.legal_status, event.opened_on, event.closing_on)


def registered(entry: RegisterEntry | None, event: CaseEvent) -> RegisterEntry | None:
    """The entry after `event`, or None when the event changes nothing."""
    when = happened_at(event)
    after = entry or RegisterEntry(event.case_id, "", "", "", open=False, as_of=when)
    if entry is None or _status_rank(when, event) > (entry.as_of, not entry.open):
        after = replace(after, open=not isinstance(event, CaseClosed), as_of=when)
    if not isinstance(event, CaseClosed):
        incoming = replace(
            after,
            team_id=event.team_id,
            practitioner_id=event.practitioner_id,
            team_manager_id=event.team_manager_id,
            allocated_as_of=when,
            facts=facts_of(event),
        )
        held = after.allocated_as_of
        if held is None or (when, _holding(incoming)) > (held, _holding(after)):
            after = incoming
    return None if after == entry else after


def happened_at(event: CaseEvent) -> datetime:
    if isinstance(event, CaseOpened | CaseOpenedV2):
        return event.opened_at
    if isinstance(event, CaseAllocated | CaseAllocatedV2):
        return event.allocated_at
    return event.closed_at


def allocation_of(entry: RegisterEntry | None) -> CaseAllocation | None:
    """What an audit is checked against: nothing when the case is unknown or known only closed."""
    if entry is None or not entry.team_id:
        return None
    return CaseAllocation(
        entry.case_id, entry.team_id, entry.practitioner_id, entry.team_manager_id, entry.open
    )
