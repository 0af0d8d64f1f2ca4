"""The organisation file: staff, teams, and who leads each service area.

Deployments provide their own file (ORGANISATION_FILE); a realistic demo one ships with the
project. It is checked whole when loaded, so a broken reference stops a service at start-up
instead of surfacing as a wrong notification weeks later.
"""

import json
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError, model_validator

from shared.events.data import Identifier
from shared.events.envelope import describe_validation_error
from shared.events.vocabulary import ServiceArea

DEMO_ORGANISATION_FILE = Path(__file__).with_name("organisation_demo.json")


class Role(StrEnum):
    PRACTITIONER = "practitioner"
    TEAM_MANAGER = "team_manager"
    SERVICE_MANAGER = "service_manager"
    HEAD_OF_SERVICE = "head_of_service"
    ASSISTANT_DIRECTOR = "assistant_director"
    ADMIN = "admin"


AUDITOR_ROLES = frozenset(
    {Role.TEAM_MANAGER, Role.SERVICE_MANAGER, Role.HEAD_OF_SERVICE, Role.ASSISTANT_DIRECTOR}
)
MODERATOR_ROLES = frozenset({Role.SERVICE_MANAGER, Role.ASSISTANT_DIRECTOR})


class OrganisationError(ValueError):
    """The organisation file is missing, malformed or inconsistent; the message says where."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StaffMember(_Frozen):
    id: Identifier
    name: str
    email: EmailStr
    role: Role
    team: Identifier | None = None
    trained_auditor: bool = False
    qa_lead: bool = False
    """Runs the monthly audit programme: draws it on demand and reallocates its audits."""

    @property
    def can_audit(self) -> bool:
        """Auditors are team manager level or above and trained (report, section 2.3)."""
        return self.role in AUDITOR_ROLES and self.trained_auditor


class Team(_Frozen):
    id: Identifier
    name: str
    service_area: ServiceArea
    area: Identifier
    team_manager: Identifier


class ServiceAreaLeads(_Frozen):
    service_area: ServiceArea
    head_of_service: Identifier
    assistant_director: Identifier


class Organisation(_Frozen):
    service_areas: tuple[ServiceAreaLeads, ...]
    teams: tuple[Team, ...]
    staff: tuple[StaffMember, ...]

    @cached_property
    def staff_by_id(self) -> dict[str, StaffMember]:
        return {member.id: member for member in self.staff}

    @cached_property
    def teams_by_id(self) -> dict[str, Team]:
        return {team.id: team for team in self.teams}

    @cached_property
    def leads(self) -> dict[ServiceArea, ServiceAreaLeads]:
        return {leads.service_area: leads for leads in self.service_areas}

    def leads_of(self, service_area: str) -> ServiceAreaLeads:
        """Head of Service and Assistant Director of an area (every area has both)."""
        return self.leads[ServiceArea(service_area)]

    def moderators(self) -> list[StaffMember]:
        return [member for member in self.staff if member.role in MODERATOR_ROLES]

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        staff = {member.id: member for member in self.staff}
        teams = {team.id for team in self.teams}
        problems = [
            f"staff {m.id}: unknown team {m.team!r}"
            for m in self.staff
            if m.team is not None and m.team not in teams
        ]
        problems += [
            f"team {t.id}: unknown team manager {t.team_manager!r}"
            for t in self.teams
            if t.team_manager not in staff
        ]
        for leads in self.service_areas:
            for role in ("head_of_service", "assistant_director"):
                person = getattr(leads, role)
                if person not in staff:
                    problems.append(f"service area {leads.service_area}: unknown {role} {person!r}")
        missing = set(ServiceArea) - {leads.service_area for leads in self.service_areas}
        problems += [
            f"service area {area}: no head of service or assistant director"
            for area in sorted(missing)
        ]
        if len(staff) != len(self.staff) or len(teams) != len(self.teams):
            problems.append("staff and team ids must be unique")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def load_organisation(path: Path = DEMO_ORGANISATION_FILE) -> Organisation:
    """Read and check an organisation file; any problem raises `OrganisationError`."""
    try:
        return Organisation.model_validate(json.loads(path.read_text()))
    except FileNotFoundError as exc:
        raise OrganisationError(f"organisation file not found: {path}") from exc
    except json.JSONDecodeError as exc:
        raise OrganisationError(f"{path} is not valid JSON: {exc}") from exc
    except ValidationError as exc:
        raise OrganisationError(f"{path}: {describe_validation_error(exc)}") from exc
