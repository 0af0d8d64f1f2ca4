"""Who an audit names: the case's practitioner and team manager, who belong to its team, and
its auditor, who does not (auditors audit other teams' work). Pure."""

from dataclasses import dataclass

from shared.errors import FieldProblem
from shared.organisation import Organisation, StaffMember, Team


@dataclass(frozen=True)
class CaseAllocation:
    """What the case register knows of a case."""

    case_id: str
    team_id: str
    practitioner_id: str
    team_manager_id: str
    open: bool


@dataclass(frozen=True)
class NamedPeople:
    """The case's people as the form names them (None: left to the register or the team)."""

    practitioner_id: str | None
    team_manager_id: str | None


def resolve_people(
    named: NamedPeople,
    organisation: Organisation,
    allocation: CaseAllocation | None,
    team: Team | None,
) -> tuple[str | None, str | None, list[FieldProblem]]:
    """The case's practitioner and team manager: from the form, else the register, else (the
    manager) the team; each must be staff of the audit's team."""
    practitioner = named.practitioner_id or (allocation.practitioner_id if allocation else None)
    manager = named.team_manager_id or (allocation.team_manager_id if allocation else None)
    if team is not None and manager is None:
        manager = team.team_manager
    problems: list[FieldProblem] = []
    for field, person in (("practitioner_id", practitioner), ("team_manager_id", manager)):
        if person is None and field == "team_manager_id" and team is None:
            continue  # it would come from the team, whose problem is reported
        if person is None:
            problems.append(
                FieldProblem(field, "required: the case register does not know this case")
            )
        elif (member := organisation.staff_by_id.get(person)) is None:
            problems.append(FieldProblem(field, f"unknown staff member {person!r}"))
        elif team is not None and not in_team(member, team):
            problems.append(
                FieldProblem(field, f"{person} is not in team {team.id}, the audit's team")
            )
    return practitioner, manager, problems


def in_team(member: StaffMember, team: Team) -> bool:
    return member.team == team.id or member.id == team.team_manager


def independence_problems(
    auditor_id: str, organisation: Organisation, team: Team, manager: str
) -> list[FieldProblem]:
    """An auditor from the case's own team, or its manager, may not audit it."""
    auditor = organisation.staff_by_id.get(auditor_id)
    if auditor is None or not auditor.can_audit:
        return []  # the auditor's own problem is reported
    if auditor.id == manager:
        return [
            FieldProblem(
                "auditor_id",
                "you manage the team that holds this case: auditors audit other teams' work",
            )
        ]
    if in_team(auditor, team):
        return [
            FieldProblem(
                "auditor_id",
                f"you work in team {team.id}, which holds this case: "
                "auditors audit other teams' work",
            )
        ]
    return []
