"""Who may do what to a programme audit (an allocation), and what each step leaves. Pure.

An allocation is live while allocated or in progress: its auditor saves drafts (which puts it
in progress), submits it or declines it; the assistant director of the case's service area may
exempt it; the case's practitioner and team manager and the auditor add reflections. Once
submitted, declined or exempted it is closed and none of that is possible any more. Who may see
one is the audits' rule (shared.visibility: the people it names, the area's leads, admins), and
the QA lead, who runs the programme, sees every one.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.auth import AccessRole, Caller, Forbidden
from shared.errors import Conflict
from shared.events.vocabulary import AllocationStatus
from shared.organisation import Organisation
from shared.visibility import AuditPeople, may_see

LIVE = frozenset({AllocationStatus.ALLOCATED, AllocationStatus.IN_PROGRESS})
DONE = frozenset({AllocationStatus.SUBMITTED})
COUNTED = LIVE | DONE
"""What the programme counts as allocated: live or done (declined ones were reallocated,
exempted ones the target counts apart)."""


class ReflectionRole(StrEnum):
    PRACTITIONER = "practitioner"
    TEAM_MANAGER = "team_manager"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class AllocationPeople:
    """What the rules need of an allocation: its case's area and people, its auditor, status."""

    allocation_id: str
    service_area: str
    practitioner_id: str
    team_manager_id: str
    auditor_id: str
    status: AllocationStatus


def sees_every_allocation(caller: Caller) -> bool:
    return caller.sees_every_area or caller.has(AccessRole.QA_LEAD)


def may_see_allocation(caller: Caller, people: AllocationPeople) -> bool:
    audit_people = AuditPeople(
        people.service_area, people.auditor_id, people.practitioner_id, people.team_manager_id
    )
    return sees_every_allocation(caller) or may_see(caller, audit_people)


def require_visible_allocation(caller: Caller, people: AllocationPeople) -> None:
    if not may_see_allocation(caller, people):
        raise Forbidden(
            f"allocation {people.allocation_id} is not yours to see: it does not name you and "
            f"{people.service_area} is not one of your service areas"
        )


def require_live(people: AllocationPeople, doing: str) -> None:
    """Refuse (409) a change to a closed allocation."""
    if people.status not in LIVE:
        raise Conflict(
            f"allocation {people.allocation_id} is {people.status.value}: it can no longer be "
            f"{doing}"
        )


def require_auditor(caller: Caller, people: AllocationPeople, doing: str) -> None:
    """Only the allocation's own auditor drafts, submits or declines it."""
    if caller.id != people.auditor_id:
        raise Forbidden(
            f"allocation {people.allocation_id} is {people.auditor_id}'s to {doing}, not yours"
        )


def reflection_role(caller_id: str, people: AllocationPeople) -> ReflectionRole:
    """As whom the caller reflects: the case's practitioner or team manager, or the auditor."""
    for role, person in (
        (ReflectionRole.PRACTITIONER, people.practitioner_id),
        (ReflectionRole.TEAM_MANAGER, people.team_manager_id),
        (ReflectionRole.AUDITOR, people.auditor_id),
    ):
        if caller_id == person:
            return role
    raise Forbidden(
        f"only the case's practitioner and team manager and the auditor add reflections to "
        f"allocation {people.allocation_id}"
    )


def require_exempter(caller: Caller, people: AllocationPeople, organisation: Organisation) -> None:
    """A case is exempted by the assistant director of its service area, no one else."""
    director = organisation.leads_of(people.service_area).assistant_director
    if caller.id != director:
        raise Forbidden(
            f"only the assistant director of {people.service_area} ({director}) may exempt "
            f"allocation {people.allocation_id}"
        )


def after_draft(status: AllocationStatus) -> AllocationStatus:
    """A saved draft puts a live allocation in progress."""
    return AllocationStatus.IN_PROGRESS if status in LIVE else status


def is_late(status: AllocationStatus, due_on: date, today: date) -> bool:
    """Still live after its due day."""
    return status in LIVE and due_on < today


def participants(
    auditor_id: str, reflected_by: Iterable[str], took_part: Iterable[str]
) -> list[str]:
    """Who took part, each once: the auditor, whoever reflected, and those the auditor named."""
    return list(dict.fromkeys((auditor_id, *reflected_by, *took_part)))


def unknown_people(ids: Iterable[str], organisation: Organisation) -> list[str]:
    return [person for person in ids if person not in organisation.staff_by_id]
