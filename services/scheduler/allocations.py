"""Programme audits as the scheduler sees them: an allocation's deadline, its reminders and its
escalation to the auditor's line manager, until the audit is submitted, declined or exempted.

Pure: the allocation (or what is known of it) and an event in, an `AllocationDecision` out;
handlers and the timer pass load, call one of these, and save it
(services/scheduler/allocation_store.py).

The audit service's events about one allocation come on four topics, so in any order and
perhaps twice. A settlement (submitted, declined, exempted) is kept whether or not the
allocation is known yet; an allocation learnt after its settlement plans no timers, and
anything learnt again changes nothing. The first settlement is the one kept.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from services.scheduler.actions import line_manager_of
from services.scheduler.decisions import Rules
from services.scheduler.domain import TimerKind, fire_time, next_escalation, step_timers
from shared.calendar import WorkingDayCalendar, uk_day
from shared.events import (
    AuditAllocated,
    AuditDeclined,
    AuditExempted,
    AuditOverdue,
    AuditReminderDue,
    AuditSubmitted,
    EventData,
)
from shared.events.vocabulary import AllocationStatus, ReminderKind, ServiceArea
from shared.organisation import Organisation

ALLOCATION_STEP = "allocation"
"""The `step` of an allocation's timers on the timer table."""

Settlement = AuditDeclined | AuditExempted | AuditSubmitted
"""What ends an allocation's deadline."""

SETTLED_BY: dict[type[EventData], AllocationStatus] = {
    AuditSubmitted: AllocationStatus.SUBMITTED,
    AuditDeclined: AllocationStatus.DECLINED,
    AuditExempted: AllocationStatus.EXEMPTED,
}


@dataclass(frozen=True)
class AllocationState:
    """One allocation of a month's programme: the facts every event about it carries, and
    whether its audit is still awaited.

    `allocated_at` is None while only its settlement is known (it came first).
    """

    id: str
    case_id: str
    programme_id: str
    month: str
    service_area: ServiceArea
    team_id: str
    practitioner_id: str
    team_manager_id: str
    auditor_id: str
    due_on: date
    status: AllocationStatus
    allocated_at: datetime | None = None
    settled_at: datetime | None = None
    audit_id: str | None = None

    @property
    def awaited(self) -> bool:
        """Allocated and not yet submitted, declined or exempted: reminded and chased."""
        return self.allocated_at is not None and self.status is AllocationStatus.ALLOCATED


@dataclass(frozen=True)
class AllocationTimer:
    kind: TimerKind
    fire_at: datetime
    sequence: int = 0


@dataclass(frozen=True)
class AllocationDecision:
    """The allocation as it now is, the timers to plan and the events to publish.

    `cancels_timers`: its timers not yet fired are called off.
    """

    allocation: AllocationState
    events: tuple[EventData, ...] = ()
    timers: tuple[AllocationTimer, ...] = ()
    cancels_timers: bool = False


def allocation_facts(allocation: AllocationState) -> dict[str, Any]:
    """What every event about an allocation carries."""
    return {
        "case_id": allocation.case_id,
        "allocation_id": allocation.id,
        "programme_id": allocation.programme_id,
        "month": allocation.month,
        "service_area": allocation.service_area,
        "team_id": allocation.team_id,
        "practitioner_id": allocation.practitioner_id,
        "team_manager_id": allocation.team_manager_id,
        "auditor_id": allocation.auditor_id,
        "due_on": allocation.due_on,
    }


def _state_from(event: AuditAllocated | Settlement, status: AllocationStatus) -> AllocationState:
    return AllocationState(
        id=event.allocation_id,
        case_id=event.case_id,
        programme_id=event.programme_id,
        month=event.month,
        service_area=event.service_area,
        team_id=event.team_id,
        practitioner_id=event.practitioner_id,
        team_manager_id=event.team_manager_id,
        auditor_id=event.auditor_id,
        due_on=event.due_on,
        status=status,
    )


def allocation_timers(due_on: date, calendar: WorkingDayCalendar) -> list[tuple[TimerKind, date]]:
    """The days of an allocation's reminders and first escalation: as a follow-up step's
    (two working days before, the due day, the working day after), except that a due date
    on a weekend or bank holiday is reminded on the last working day before it."""
    last_working_day = (
        due_on if calendar.is_working_day(due_on) else calendar.working_days_before(due_on, 1)
    )
    return [
        (planned.kind, last_working_day if planned.kind is TimerKind.DUE_TODAY else planned.day)
        for planned in step_timers(due_on, calendar)
    ]


def plan_timers(due_on: date, now: datetime, rules: Rules) -> tuple[AllocationTimer, ...]:
    """The reminders still to come, and the first escalation (however late the allocation)."""
    timers = []
    for kind, day in allocation_timers(due_on, rules.calendar):
        at = fire_time(day, rules.starts_at_hour)
        if kind is not TimerKind.OVERDUE and at < now:
            continue  # a reminder whose moment passed before the allocation was known
        timers.append(AllocationTimer(kind, at))
    return tuple(timers)


def allocate(
    known: AllocationState | None, event: AuditAllocated, now: datetime, rules: Rules
) -> AllocationDecision:
    """A new allocation and its timers; once settled, or known already, no new timers."""
    if known is None:
        allocation = replace(
            _state_from(event, AllocationStatus.ALLOCATED), allocated_at=event.allocated_at
        )
        return AllocationDecision(allocation, timers=plan_timers(event.due_on, now, rules))
    if known.allocated_at is not None:
        return AllocationDecision(known)  # learnt again
    # Its settlement came first: it is remembered as allocated too, and chased by nobody.
    return AllocationDecision(replace(known, allocated_at=event.allocated_at))


def settled_at(event: Settlement) -> datetime:
    """When the audit service says the allocation was submitted, declined or exempted."""
    if isinstance(event, AuditSubmitted):
        return event.submitted_at
    if isinstance(event, AuditDeclined):
        return event.declined_at
    return event.exempted_at


def settle(known: AllocationState | None, event: Settlement) -> AllocationDecision:
    """Submitted, declined or exempted: its timers not yet fired are called off. Known or not,
    the settlement is kept, so an AuditAllocated arriving after it plans nothing."""
    status = SETTLED_BY[type(event)]
    audit_id = event.audit_id if isinstance(event, AuditSubmitted) else None
    when = settled_at(event)
    if known is None:
        allocation = replace(_state_from(event, status), settled_at=when, audit_id=audit_id)
        return AllocationDecision(allocation)
    if known.status is not AllocationStatus.ALLOCATED:
        return AllocationDecision(known)  # settled already: the first one stands
    settled = replace(known, status=status, settled_at=when, audit_id=audit_id)
    return AllocationDecision(settled, cancels_timers=True)


def auditor_area(auditor_id: str, fallback: str, organisation: Organisation) -> str:
    """The service area an auditor works in: their team's, or the one they lead as Head of
    Service or assistant director; `fallback` (the case's) for anyone else. Auditors audit
    outside their own team, so the case's area is often not theirs."""
    member = organisation.staff_by_id.get(auditor_id)
    team = organisation.teams_by_id.get(member.team) if member and member.team else None
    if team is not None:
        return team.service_area
    for role in ("head_of_service", "assistant_director"):
        for leads in organisation.service_areas:
            if getattr(leads, role) == auditor_id:
                return leads.service_area
    return fallback


def escalation_target(allocation: AllocationState, organisation: Organisation) -> str:
    """The auditor's line manager, as an action's owner's is decided (`line_manager_of`), in
    the auditor's own area. An assistant director has nobody above them in the organisation
    file, so their late audit goes to the QA lead who runs the programme (telling a Head of
    Service who reports to them would be upside down)."""
    auditor = allocation.auditor_id
    area = auditor_area(auditor, allocation.service_area, organisation)
    if organisation.leads_of(area).assistant_director == auditor:
        leads = sorted(m.id for m in organisation.staff if m.qa_lead and m.id != auditor)
        if leads:
            return leads[0]
    return line_manager_of(auditor, area, organisation)


def fire_allocation_timer(
    allocation: AllocationState, timer: AllocationTimer, now: datetime, rules: Rules
) -> AllocationDecision:
    """A reminder to the auditor, or an escalation to their line manager that repeats as a
    follow-up's does; nothing once the audit is no longer awaited."""
    if not allocation.awaited:
        return AllocationDecision(allocation)
    facts = allocation_facts(allocation)
    if timer.kind is not TimerKind.OVERDUE:
        reminder = AuditReminderDue(**facts, reminder=ReminderKind(timer.kind))
        return AllocationDecision(allocation, (reminder,))
    today = uk_day(now)
    # Repeat from today, not from the missed day, so a long outage does not fire a burst.
    repeat_on = next_escalation(
        max(uk_day(timer.fire_at), today), rules.overdue_every, rules.calendar
    )
    repeat = AllocationTimer(
        TimerKind.OVERDUE, fire_time(repeat_on, rules.starts_at_hour), timer.sequence + 1
    )
    escalation = AuditOverdue(
        **facts,
        escalated_to_id=escalation_target(allocation, rules.organisation),
        working_days_overdue=max(1, rules.calendar.working_days_between(allocation.due_on, today)),
    )
    return AllocationDecision(allocation, (escalation,), (repeat,))
