"""What the programme's routes answer: programmes, their allocations and reflections. Every
allocation names its `case_id`, so the access trail records each case read."""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from services.audit.allocation_rules import COUNTED, ReflectionRole, is_late, participants
from services.audit.models import AllocationRow, ProgrammeRow, ReflectionRow
from shared.events.vocabulary import AllocationStatus
from shared.organisation import Organisation


class ReflectionView(BaseModel):
    by: str
    role: ReflectionRole
    text: str
    at: datetime


class AllocationView(BaseModel):
    id: str
    programme_id: str
    month: str
    case_id: str
    team_id: str
    service_area: str
    practitioner_id: str
    team_manager_id: str
    auditor_id: str
    status: AllocationStatus
    due_on: date
    late: bool
    allocated_at: datetime
    allocated_by: str | None
    reallocated_from: str | None
    reallocated_to: str | None
    audit_id: str | None
    reason: str | None
    exempted_by: str | None
    why_case: str
    why_auditor: str
    draft: dict[str, Any] | None
    draft_saved_at: datetime | None
    reflections: list[ReflectionView]
    participants: list[str]

    @classmethod
    def of(
        cls, row: AllocationRow, reflections: Iterable[ReflectionRow], today: date
    ) -> "AllocationView":
        said = [
            ReflectionView(by=r.by, role=ReflectionRole(r.role), text=r.text, at=r.at)
            for r in reflections
        ]
        status = AllocationStatus(row.status)
        return cls(
            **row.model_dump(exclude={"status", "took_part", "closed_at"}),
            status=status,
            late=is_late(status, row.due_on, today),
            reflections=said,
            participants=participants(row.auditor_id, (r.by for r in said), row.took_part),
        )


class TeamDrawView(BaseModel):
    team_id: str
    team_name: str
    service_area: str
    open_cases: int
    eligible_cases: int
    quota: int
    drawn: int


class UnallocatedView(BaseModel):
    case_id: str
    team_id: str
    reason: str


class ProgrammeSummary(BaseModel):
    id: str
    month: str
    size: int
    seed: int
    drawn_at: datetime
    drawn_by: str | None
    allocated: int
    submitted: int
    exempted: int

    @classmethod
    def of(cls, row: ProgrammeRow, allocations: Iterable[AllocationRow]) -> "ProgrammeSummary":
        rows = list(allocations)

        def cases(statuses: Iterable[AllocationStatus]) -> int:
            wanted = {status.value for status in statuses}
            return len({a.case_id for a in rows if a.status in wanted})

        return cls(
            id=row.id,
            month=row.month,
            size=row.size,
            seed=row.seed,
            drawn_at=row.drawn_at,
            drawn_by=row.drawn_by,
            allocated=cases(COUNTED),
            submitted=cases({AllocationStatus.SUBMITTED}),
            exempted=cases({AllocationStatus.EXEMPTED}),
        )


class ProgrammeView(BaseModel):
    id: str
    month: str
    size: int
    minimum_per_team: int
    seed: int
    due_on: date
    drawn_at: datetime
    drawn_by: str | None
    open_cases: int
    eligible_cases: int
    note: str | None
    teams: list[TeamDrawView]
    unallocated: list[UnallocatedView]
    allocations: list[AllocationView]

    @classmethod
    def of(
        cls,
        row: ProgrammeRow,
        organisation: Organisation,
        unallocated: Iterable[dict[str, Any]],
        allocations: list[AllocationView],
    ) -> "ProgrammeView":
        teams = []
        for team in row.teams:
            known = organisation.teams_by_id.get(team["team_id"])
            teams.append(
                TeamDrawView(
                    **team,
                    team_name=known.name if known else team["team_id"],
                    service_area=known.service_area.value if known else "",
                )
            )
        return cls(
            **row.model_dump(exclude={"teams", "unallocated"}),
            teams=teams,
            unallocated=[UnallocatedView(**case) for case in unallocated],
            allocations=allocations,
        )
