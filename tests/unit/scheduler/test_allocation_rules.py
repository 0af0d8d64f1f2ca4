"""The deadline rules of programme allocations with plain values and no database: which timers
for which due date over weekends and bank holidays, settlement in any order, replays, the
repeating escalation and whom it goes to."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from services.scheduler.allocations import (
    AllocationState,
    AllocationTimer,
    allocate,
    allocation_timers,
    auditor_area,
    escalation_target,
    fire_allocation_timer,
    plan_timers,
    settle,
)
from services.scheduler.decisions import Rules
from services.scheduler.domain import TimerKind
from shared.calendar import UK, WorkingDayCalendar
from shared.events import (
    AuditAllocated,
    AuditDeclined,
    AuditExempted,
    AuditOverdue,
    AuditReminderDue,
    AuditSubmitted,
)
from shared.events.vocabulary import AllocationStatus
from shared.organisation import load_organisation

ORGANISATION = load_organisation()
CALENDAR = WorkingDayCalendar()
RULES = Rules(ORGANISATION, CALENDAR, overdue_every=2, starts_at_hour=8)
ALLOCATED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday 2 November 2026
EH_HEAD, EH_DIRECTOR, FS_HEAD = "S0003", "S0001", "S0031"
EH_SOUTH_MANAGER, SERVICE_MANAGER = "S0009", "S0004"
TWO_BEFORE, DUE_TODAY, OVERDUE = (
    TimerKind.TWO_WORKING_DAYS_BEFORE,
    TimerKind.DUE_TODAY,
    TimerKind.OVERDUE,
)


def facts(**changes: object) -> dict[str, object]:
    """An early help case of EH-NORTH audited by the manager of EH-SOUTH (as factories'
    `_allocation()`, with the demo organisation's people)."""
    return {
        "case_id": "CASE-1",
        "allocation_id": "ALC-1",
        "programme_id": "PRG-2026-11",
        "month": "2026-11",
        "service_area": "early_help",
        "team_id": "EH-NORTH",
        "practitioner_id": "S0006",
        "team_manager_id": "S0005",
        "auditor_id": EH_SOUTH_MANAGER,
        "due_on": date(2026, 11, 30),
        **changes,
    }


def allocated(**changes: object) -> AuditAllocated:
    return AuditAllocated(**facts(**changes), allocated_by=None, allocated_at=ALLOCATED_AT)


def submitted(**changes: object) -> AuditSubmitted:
    at = datetime(2026, 11, 20, 15, tzinfo=UTC)
    return AuditSubmitted(**facts(**changes), audit_id="AUD-9", submitted_at=at)


def declined() -> AuditDeclined:
    return AuditDeclined(**facts(), declined_at=datetime(2026, 11, 4, 9, tzinfo=UTC))


def exempted() -> AuditExempted:
    at = datetime(2026, 11, 5, 9, tzinfo=UTC)
    return AuditExempted(**facts(), exempted_by=EH_DIRECTOR, exempted_at=at)


def awaited(**changes: object) -> AllocationState:
    return allocate(None, allocated(**changes), ALLOCATED_AT, RULES).allocation


def at(day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UK)


@pytest.mark.parametrize(
    ("due_on", "two_before", "due_today", "overdue"),
    [
        # Monday 30 November 2026: the Thursday before (a weekend in between), Tuesday after.
        (date(2026, 11, 30), date(2026, 11, 26), date(2026, 11, 30), date(2026, 12, 1)),
        # Tuesday 29 December 2026: Christmas Day (Friday) and the Boxing Day substitute
        # (Monday 28) are not working days, so two working days before is Wednesday 23.
        (date(2026, 12, 29), date(2026, 12, 23), date(2026, 12, 29), date(2026, 12, 30)),
        # Thursday 24 December 2026: overdue on Tuesday 29, after the holidays.
        (date(2026, 12, 24), date(2026, 12, 22), date(2026, 12, 24), date(2026, 12, 29)),
        # Wednesday 31 March 2027, the month's last working day: Good Friday (26) and Easter
        # Monday (29) skipped, the reminder is Thursday 25.
        (date(2027, 3, 31), date(2027, 3, 25), date(2027, 3, 31), date(2027, 4, 1)),
        # Thursday 31 December 2026: overdue after New Year's Day, on Monday 4 January.
        (date(2026, 12, 31), date(2026, 12, 29), date(2026, 12, 31), date(2027, 1, 4)),
        # A due date on a Saturday: reminded on the Friday before, overdue on the Monday.
        (date(2026, 11, 28), date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30)),
    ],
)
def test_reminders_two_working_days_before_and_on_the_due_day_then_overdue_the_working_day_after(
    due_on, two_before, due_today, overdue
):
    assert allocation_timers(due_on, CALENDAR) == [
        (TWO_BEFORE, two_before),
        (DUE_TODAY, due_today),
        (OVERDUE, overdue),
    ]
    assert plan_timers(due_on, ALLOCATED_AT, RULES) == (
        AllocationTimer(TWO_BEFORE, at(two_before)),
        AllocationTimer(DUE_TODAY, at(due_today)),
        AllocationTimer(OVERDUE, at(overdue)),
    )


def test_timers_fire_at_the_start_of_the_uk_working_day_in_summer_time_too():
    [_, _, overdue] = plan_timers(date(2027, 3, 31), ALLOCATED_AT, RULES)
    assert overdue.fire_at == datetime(2027, 4, 1, 7, 0, tzinfo=UTC)  # 08:00 BST


def test_an_allocation_gets_its_facts_and_its_three_timers():
    decision = allocate(None, allocated(), ALLOCATED_AT, RULES)
    allocation = decision.allocation
    assert (allocation.id, allocation.status, allocation.allocated_at) == (
        "ALC-1",
        AllocationStatus.ALLOCATED,
        ALLOCATED_AT,
    )
    assert allocation.awaited
    assert [t.kind for t in decision.timers] == [TWO_BEFORE, DUE_TODAY, OVERDUE]
    assert (decision.events, decision.cancels_timers) == ((), False)


def test_reminders_whose_moment_passed_are_not_planned_but_the_escalation_always_is():
    late = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # after the due day's reminders
    decision = allocate(None, allocated(), late, RULES)
    assert decision.timers == (AllocationTimer(OVERDUE, at(date(2026, 12, 1))),)
    after_due = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # allocated once already late
    assert [t.kind for t in allocate(None, allocated(), after_due, RULES).timers] == [OVERDUE]


@pytest.mark.parametrize(
    ("settlement", "status"),
    [
        (submitted(), AllocationStatus.SUBMITTED),
        (declined(), AllocationStatus.DECLINED),
        (exempted(), AllocationStatus.EXEMPTED),
    ],
)
def test_a_settlement_calls_off_the_timers_of_an_awaited_allocation(settlement, status):
    decision = settle(awaited(), settlement)
    assert decision.cancels_timers
    assert (decision.allocation.status, decision.timers, decision.events) == (status, (), ())
    assert not decision.allocation.awaited
    assert decision.allocation.settled_at is not None


def test_a_submission_keeps_its_audit_and_the_audit_services_time():
    allocation = settle(awaited(), submitted()).allocation
    assert (allocation.audit_id, allocation.settled_at) == (
        "AUD-9",
        datetime(2026, 11, 20, 15, tzinfo=UTC),
    )


@pytest.mark.parametrize("settlement", [submitted(), declined(), exempted()])
def test_a_settlement_before_its_allocation_is_kept_and_the_allocation_then_plans_nothing(
    settlement,
):
    first = settle(None, settlement)
    assert first.allocation.status is not AllocationStatus.ALLOCATED
    assert first.allocation.allocated_at is None
    assert (first.timers, first.events) == ((), ())

    then = allocate(first.allocation, allocated(), ALLOCATED_AT, RULES)
    assert then.timers == ()
    assert then.allocation.status is first.allocation.status
    assert then.allocation.allocated_at == ALLOCATED_AT
    assert not then.allocation.awaited


def test_an_allocation_learnt_again_changes_nothing_and_plans_no_second_set_of_timers():
    known = awaited()
    again = allocate(known, allocated(due_on=date(2026, 12, 15)), ALLOCATED_AT, RULES)
    assert (again.allocation, again.timers, again.events, again.cancels_timers) == (
        known,
        (),
        (),
        False,
    )


def test_the_first_settlement_stands_and_a_second_one_changes_nothing():
    done = settle(awaited(), submitted()).allocation
    for later in (submitted(), declined(), exempted()):
        again = settle(done, later)
        assert (again.allocation, again.cancels_timers) == (done, False)


def test_a_reminder_tells_the_auditor_with_the_allocations_facts():
    allocation = awaited()
    timer = AllocationTimer(TWO_BEFORE, at(date(2026, 11, 26)))
    decision = fire_allocation_timer(allocation, timer, timer.fire_at, RULES)
    assert decision.events == (AuditReminderDue(**facts(), reminder="two_working_days_before"),)
    assert decision.timers == ()
    due_today = AllocationTimer(DUE_TODAY, at(date(2026, 11, 30)))
    [reminder] = fire_allocation_timer(allocation, due_today, due_today.fire_at, RULES).events
    assert isinstance(reminder, AuditReminderDue)
    assert reminder.reminder == "due_today"


def test_overdue_escalates_to_the_auditors_line_manager_and_repeats_every_n_working_days():
    allocation = awaited()
    first = AllocationTimer(OVERDUE, at(date(2026, 12, 1)))
    decision = fire_allocation_timer(allocation, first, first.fire_at, RULES)
    assert decision.events == (
        AuditOverdue(**facts(), escalated_to_id=EH_HEAD, working_days_overdue=1),
    )
    [repeat] = decision.timers
    assert repeat == AllocationTimer(OVERDUE, at(date(2026, 12, 3)), sequence=1)

    second = fire_allocation_timer(allocation, repeat, repeat.fire_at, RULES)
    [escalation] = second.events
    assert isinstance(escalation, AuditOverdue)
    assert escalation.working_days_overdue == 3
    assert second.timers == (AllocationTimer(OVERDUE, at(date(2026, 12, 7)), sequence=2),)


def test_an_escalation_fired_late_repeats_from_today_not_from_the_missed_day():
    first = AllocationTimer(OVERDUE, at(date(2026, 12, 1)))
    back = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # the scheduler was away for a week
    decision = fire_allocation_timer(awaited(), first, back, RULES)
    [escalation] = decision.events
    assert isinstance(escalation, AuditOverdue)
    assert escalation.working_days_overdue == 8
    assert [t.fire_at for t in decision.timers] == [at(date(2026, 12, 14))]


def test_a_weekend_due_date_is_one_working_day_overdue_on_the_monday():
    allocation = awaited(due_on=date(2026, 11, 28))
    timer = AllocationTimer(OVERDUE, at(date(2026, 11, 30)))
    [escalation] = fire_allocation_timer(allocation, timer, timer.fire_at, RULES).events
    assert isinstance(escalation, AuditOverdue)
    assert escalation.working_days_overdue == 1


@pytest.mark.parametrize("kind", [TWO_BEFORE, DUE_TODAY, OVERDUE])
def test_no_timer_says_anything_once_the_audit_is_no_longer_awaited(kind):
    timer = AllocationTimer(kind, at(date(2026, 12, 1)))
    for allocation in (
        settle(awaited(), submitted()).allocation,
        settle(awaited(), declined()).allocation,
        settle(None, exempted()).allocation,
    ):
        decision = fire_allocation_timer(allocation, timer, timer.fire_at, RULES)
        assert (decision.events, decision.timers) == ((), ())


@pytest.mark.parametrize(
    ("auditor", "case_area", "line_manager"),
    [
        # A team manager auditing another team's case: their own area's Head of Service,
        # not the case's (early help's S0003, not family safeguarding's S0031).
        (EH_SOUTH_MANAGER, "family_safeguarding", EH_HEAD),
        (EH_SOUTH_MANAGER, "early_help", EH_HEAD),
        # A Head of Service: the assistant director of the area they lead.
        (EH_HEAD, "family_safeguarding", EH_DIRECTOR),
        # Family safeguarding's Head of Service auditing an early help case.
        (FS_HEAD, "early_help", "S0002"),
        # A service manager in no team and leading no area: the case's Head of Service.
        (SERVICE_MANAGER, "early_help", EH_HEAD),
        (SERVICE_MANAGER, "family_safeguarding", FS_HEAD),
        # An assistant director has nobody above them in the file: the QA lead (S0004).
        (EH_DIRECTOR, "family_safeguarding", "S0004"),
    ],
)
def test_the_escalation_goes_to_the_auditors_line_manager(auditor, case_area, line_manager):
    allocation = replace(awaited(), auditor_id=auditor, service_area=case_area)
    assert escalation_target(allocation, ORGANISATION) == line_manager


def test_an_auditors_area_is_their_teams_or_the_one_they_lead():
    assert auditor_area("S0019", "early_help", ORGANISATION) == "assessment_intervention"
    assert auditor_area(FS_HEAD, "early_help", ORGANISATION) == "family_safeguarding"
    assert auditor_area("S0002", "early_help", ORGANISATION) == "family_safeguarding"
    assert auditor_area(SERVICE_MANAGER, "care_leavers", ORGANISATION) == "care_leavers"
    assert auditor_area("S9999", "care_leavers", ORGANISATION) == "care_leavers"
