"""Drawing a month's programme: the register's open cases through the draw and the auditors'
allocation (`programme_draw`, `programme_auditors`, both pure), saved as the programme, its
allocations and one AuditAllocated each, in one transaction; the month's uniqueness lets only
one draw of a month stand."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.audit.models import AllocationRow, ProgrammeRow
from services.audit.programme_auditors import AuditorChoice, allocate_auditors
from services.audit.programme_draw import Draw, DrawRefused, DrawRules, OpenCase, draw_programme
from services.audit.programme_forms import DrawRequest
from services.audit.programme_store import (
    allocated,
    audited_since,
    in_live_allocation,
    live_load,
    open_cases,
    programme_of,
)
from shared.calendar import ONE_DAY, WorkingDayCalendar, month_bounds, month_start, uk_day
from shared.db import transaction
from shared.errors import Conflict, FieldProblem
from shared.events.vocabulary import AllocationStatus
from shared.organisation import Organisation


@dataclass(frozen=True)
class Programmes:
    """What the programme's use cases need besides the request."""

    engine: Engine
    organisation: Organisation
    calendar: WorkingDayCalendar
    monthly_target: int


class NothingToDraw(DrawRefused):
    """No open case is eligible: a programme of none would only stop the month being drawn."""


def last_working_day(month: date, calendar: WorkingDayCalendar) -> date:
    _, last = month_bounds(month)
    return calendar.working_days_before(last + ONE_DAY, 1)


def draw_month(
    ctx: Programmes, request: DrawRequest, drawn_by: str | None, now: datetime
) -> ProgrammeRow:
    """Draw and allocate `request.month`; Conflict when it is drawn already."""
    try:
        with transaction(ctx.engine) as session:
            return _draw(session, ctx, request, drawn_by, now)
    except IntegrityError as exc:
        # Another replica or request drew the month first: its programme stands.
        raise Conflict(f"the programme of {request.month} is already drawn") from exc


def _draw(
    session: Session, ctx: Programmes, request: DrawRequest, drawn_by: str | None, now: datetime
) -> ProgrammeRow:
    if programme_of(session, request.month) is not None:
        raise Conflict(f"the programme of {request.month} is already drawn")
    first = month_start(request.month)
    _, last = month_bounds(first)
    due_on = request.due_on or last_working_day(first, ctx.calendar)
    if last < uk_day(now):
        raise DrawRefused(
            [FieldProblem("month", f"{request.month} is over: draw this month or a later one")]
        )
    if due_on < first:
        raise DrawRefused([FieldProblem("due_on", f"must not be before {request.month}")])
    rules = DrawRules(
        month=first,
        size=request.size or ctx.monthly_target,
        minimum_per_team=request.minimum_per_team,
        seed=request.seed if request.seed is not None else secrets.randbelow(2**31),
    )
    draw = draw_programme(
        open_cases(session),
        audited_recently=audited_since(session, first.replace(year=first.year - 1)),
        in_open_allocation=in_live_allocation(session),
        organisation=ctx.organisation,
        rules=rules,
        month_last_day=last,
    )
    if draw.eligible_cases == 0:
        raise NothingToDraw(
            [
                FieldProblem(
                    "month", f"no open case is eligible for {request.month}: nothing to draw"
                )
            ]
        )
    cases = [drawn.case for drawn in draw.drawn]
    choices = allocate_auditors(cases, ctx.organisation, live_load(session), rules.seed)
    team_of = {drawn.case.case_id: drawn.case.team_id for drawn in draw.drawn}
    unallocated = [
        unallocated_case(
            choice.case_id, team_of[choice.case_id], choice.why_auditor, ctx.organisation
        )
        for choice in choices
        if choice.auditor_id is None
    ]
    programme = _programme_row(request.month, draw, due_on, unallocated, drawn_by, now)
    session.add(programme)
    session.flush()  # the month's uniqueness decides here, before any allocation is queued
    why_case = {drawn.case.case_id: drawn.why_case for drawn in draw.drawn}
    for case, choice in zip(cases, choices, strict=True):
        if choice.auditor_id is not None:
            row = allocation_row(programme, case, choice, why_case[case.case_id], ctx, now)
            row.allocated_by = drawn_by
            session.add(row)
            allocated(session, row)
    return programme


def _programme_row(
    month: str,
    draw: Draw,
    due_on: date,
    unallocated: list[dict[str, Any]],
    drawn_by: str | None,
    now: datetime,
) -> ProgrammeRow:
    drawn_in = [drawn.case.team_id for drawn in draw.drawn]
    teams = [
        {
            "team_id": team.team_id,
            "open_cases": team.open_cases,
            "eligible_cases": team.eligible_cases,
            "quota": team.quota,
            "drawn": drawn_in.count(team.team_id),
        }
        for team in draw.teams
    ]
    rules = draw.rules
    return ProgrammeRow(
        id=f"PRG-{month}",
        month=month,
        size=rules.size,
        minimum_per_team=rules.minimum_per_team,
        seed=rules.seed,
        due_on=due_on,
        drawn_at=now,
        drawn_by=drawn_by,
        open_cases=draw.open_cases,
        eligible_cases=draw.eligible_cases,
        note=draw.note,
        teams=teams,
        unallocated=unallocated,
    )


def unallocated_case(
    case_id: str, team_id: str, reason: str, organisation: Organisation
) -> dict[str, Any]:
    team = organisation.teams_by_id[team_id]
    return {
        "case_id": case_id,
        "team_id": team_id,
        "service_area": team.service_area.value,
        "reason": reason,
    }


def allocation_row(
    programme: ProgrammeRow,
    case: OpenCase,
    choice: AuditorChoice,
    why_case: str,
    ctx: Programmes,
    now: datetime,
) -> AllocationRow:
    assert choice.auditor_id is not None
    return AllocationRow(
        id=f"ALC-{uuid.uuid4().hex[:16]}",
        programme_id=programme.id,
        month=programme.month,
        case_id=case.case_id,
        service_area=ctx.organisation.teams_by_id[case.team_id].service_area.value,
        team_id=case.team_id,
        practitioner_id=case.practitioner_id,
        team_manager_id=case.team_manager_id,
        auditor_id=choice.auditor_id,
        status=AllocationStatus.ALLOCATED.value,
        due_on=programme.due_on,
        why_case=why_case,
        why_auditor=choice.why_auditor,
        allocated_at=now,
        took_part=[],
    )
