"""Who may do what to a programme audit, and what each step leaves (allocation_rules)."""

from datetime import date

import pytest

from services.audit.allocation_rules import (
    AllocationPeople,
    ReflectionRole,
    after_draft,
    is_late,
    may_see_allocation,
    participants,
    reflection_role,
    require_auditor,
    require_exempter,
    require_live,
)
from shared.auth import AccessRole, Caller, Forbidden
from shared.errors import Conflict
from shared.events.vocabulary import AllocationStatus
from shared.organisation import load_organisation

ORGANISATION = load_organisation()
ALLOCATED = AllocationPeople(
    "ALC-1", "early_help", "S0006", "S0005", "S0031", AllocationStatus.ALLOCATED
)


def caller(who: str, *roles: AccessRole, areas: frozenset[str] = frozenset()) -> Caller:
    return Caller(who, frozenset(roles), areas)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        (caller("S0031", AccessRole.AUDITOR), True),  # its auditor
        (caller("S0006", AccessRole.PRACTITIONER), True),  # the case's practitioner
        (caller("S0005", AccessRole.TEAM_MANAGER), True),  # the case's team manager
        (caller("S0003", AccessRole.HEAD_OF_SERVICE, areas=frozenset({"early_help"})), True),
        (caller("S0004", AccessRole.QA_LEAD), True),  # the QA lead sees every allocation
        (caller("S9001", AccessRole.ADMIN), True),
        (caller("S0010", AccessRole.PRACTITIONER), False),  # another team's practitioner
        (caller("S0031", AccessRole.HEAD_OF_SERVICE, areas=frozenset({"care_leavers"})), True),
        (caller("S0045", AccessRole.HEAD_OF_SERVICE, areas=frozenset({"care_leavers"})), False),
    ],
)
def test_an_allocation_is_seen_by_its_people_its_areas_leads_the_qa_lead_and_admins(who, sees):
    assert may_see_allocation(who, ALLOCATED) is sees


def test_only_its_auditor_drafts_submits_or_declines_it():
    require_auditor(caller("S0031"), ALLOCATED, "draft")
    with pytest.raises(Forbidden, match="S0031's to draft"):
        require_auditor(caller("S0005"), ALLOCATED, "draft")


@pytest.mark.parametrize(
    "status", [AllocationStatus.SUBMITTED, AllocationStatus.DECLINED, AllocationStatus.EXEMPTED]
)
def test_a_closed_allocation_refuses_every_change(status):
    closed = AllocationPeople("ALC-1", "early_help", "S0006", "S0005", "S0031", status)
    with pytest.raises(Conflict, match=f"is {status.value}"):
        require_live(closed, "drafted")


def test_a_draft_puts_a_live_allocation_in_progress_and_leaves_a_closed_one_as_it_is():
    assert after_draft(AllocationStatus.ALLOCATED) is AllocationStatus.IN_PROGRESS
    assert after_draft(AllocationStatus.IN_PROGRESS) is AllocationStatus.IN_PROGRESS
    assert after_draft(AllocationStatus.SUBMITTED) is AllocationStatus.SUBMITTED


def test_each_reflection_is_the_practitioners_the_team_managers_or_the_auditors():
    assert reflection_role("S0006", ALLOCATED) is ReflectionRole.PRACTITIONER
    assert reflection_role("S0005", ALLOCATED) is ReflectionRole.TEAM_MANAGER
    assert reflection_role("S0031", ALLOCATED) is ReflectionRole.AUDITOR
    with pytest.raises(Forbidden):
        reflection_role("S0003", ALLOCATED)  # the area's head of service reads, not reflects


def test_only_the_assistant_director_of_the_cases_area_exempts_it():
    require_exempter(caller("S0001"), ALLOCATED, ORGANISATION)  # early help's AD
    with pytest.raises(Forbidden, match=r"assistant director of early_help \(S0001\)"):
        require_exempter(caller("S0002"), ALLOCATED, ORGANISATION)
    with pytest.raises(Forbidden):
        require_exempter(caller("S0003"), ALLOCATED, ORGANISATION)  # its head of service


def test_a_live_allocation_is_late_from_the_day_after_it_is_due():
    due = date(2026, 12, 31)
    assert not is_late(AllocationStatus.ALLOCATED, due, date(2026, 12, 31))
    assert is_late(AllocationStatus.IN_PROGRESS, due, date(2027, 1, 1))
    assert not is_late(AllocationStatus.SUBMITTED, due, date(2027, 1, 4))
    assert not is_late(AllocationStatus.EXEMPTED, due, date(2027, 1, 4))


def test_participants_are_the_auditor_the_reflectors_and_those_named_each_once():
    assert participants("S0031", ["S0006", "S0005", "S0006"], ["S0004", "S0031"]) == [
        "S0031",
        "S0006",
        "S0005",
        "S0004",
    ]
