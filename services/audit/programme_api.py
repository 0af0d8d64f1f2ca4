"""HTTP routes of the monthly programme: translate requests to its use cases and answers back.
Who may call each is in services/audit/service.py; scope is checked here or in the use case."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel

from services.audit.allocation_rules import require_visible_allocation
from services.audit.api import AuditDependencies, AuditView, IdempotencyKey
from services.audit.metrics import AUDITS_GRADED
from services.audit.programme_drawing import Programmes, draw_month
from services.audit.programme_forms import (
    MONTH_PATTERN,
    AllocatedAuditForm,
    AuditDraft,
    DrawRequest,
    ReasonForm,
    ReflectionForm,
)
from services.audit.programme_handlers import (
    AllocatedSubmission,
    add_reflection,
    decline,
    exempt,
    save_draft,
    submit_allocated,
)
from services.audit.programme_queries import (
    AllocationFilter,
    allocation,
    allocation_tallies,
    allocation_view,
    list_allocations,
    programme_size,
    programme_summaries,
    programme_view,
)
from services.audit.programme_stats import ProgrammeFigures, figures_from_tallies
from services.audit.programme_store import people_of
from services.audit.programme_views import AllocationView, ProgrammeSummary, ProgrammeView
from shared.access import CurrentCaller
from shared.calendar import month_start, uk_day
from shared.errors import NotFound
from shared.events.data import IDENTIFIER_RULE, Identifier
from shared.events.vocabulary import AllocationStatus
from shared.http import MONTH_RULE, OptionalMonth
from shared.paging import Paging

MonthPath = Annotated[
    str, Path(pattern=MONTH_PATTERN, description=MONTH_RULE, examples=["2026-12"])
]


@dataclass(frozen=True)
class AllocationSearch:
    """The `/allocations` query (the page is `shared.paging`'s)."""

    month: OptionalMonth = None
    auditor_id: Annotated[
        Identifier | None, Query(description=f"The auditor's staff id. {IDENTIFIER_RULE}")
    ] = None
    team_id: Annotated[
        Identifier | None, Query(description=f"The team's id. {IDENTIFIER_RULE}")
    ] = None
    status: AllocationStatus | None = None
    case_id: Annotated[
        Identifier | None,
        Query(description=f"The case reference. {IDENTIFIER_RULE}", examples=["CASE-000123"]),
    ] = None


class Submitted(BaseModel):
    allocation: AllocationView
    audit: AuditView


class Declined(BaseModel):
    declined: AllocationView
    reallocated: AllocationView | None
    unallocated_reason: str | None
    """Why nobody else could take the audit, when `reallocated` is null."""


def programme_router(deps: AuditDependencies) -> APIRouter:  # noqa: C901 - one route each
    router = APIRouter(tags=["programme"])
    ctx = Programmes(deps.engine, deps.organisation, deps.calendar, deps.monthly_target)

    def today() -> date:
        return uk_day(deps.clock.now())

    def view_of(allocation_id: str) -> AllocationView:
        row = allocation(deps.engine, allocation_id)
        if row is None:
            raise NotFound(f"no allocation {allocation_id!r}")
        return allocation_view(deps.engine, row, today())

    @router.post(
        "/programmes",
        status_code=201,
        response_model=ProgrammeView,
        responses={409: {"description": "the month is drawn already"}, 422: {}},
    )
    def draw(request: DrawRequest, response: Response, caller: CurrentCaller) -> ProgrammeView:
        """Draw the month's cases and allocate each to an auditor (the QA lead, on demand)."""
        drawn = draw_month(ctx, request, caller.id, deps.clock.now())
        response.headers["Location"] = f"/programmes/{drawn.month}"
        found = programme_view(deps.engine, drawn.month, caller, deps.organisation, today())
        assert found is not None
        return found

    @router.get("/programmes", response_model=list[ProgrammeSummary])
    def programmes(caller: CurrentCaller, paging: Paging) -> list[ProgrammeSummary]:
        """The programmes drawn, newest month first."""
        return programme_summaries(deps.engine, caller, paging)

    @router.get("/programmes/{month}", response_model=ProgrammeView, responses={404: {}})
    def programme(month: MonthPath, caller: CurrentCaller) -> ProgrammeView:
        found = programme_view(deps.engine, month, caller, deps.organisation, today())
        if found is None:
            raise NotFound(f"no programme drawn for {month}")
        return found

    @router.get("/allocations", response_model=list[AllocationView])
    def allocations(
        query: Annotated[AllocationSearch, Depends()], paging: Paging, caller: CurrentCaller
    ) -> list[AllocationView]:
        """A page of the programme audits asked for, of those the caller may see."""
        where = AllocationFilter(
            query.month, query.auditor_id, query.team_id, query.status, query.case_id
        )
        return list_allocations(deps.engine, caller, where, paging, today())

    @router.get(
        "/allocations/{allocation_id}", response_model=AllocationView, responses={403: {}, 404: {}}
    )
    def get_allocation(allocation_id: Identifier, caller: CurrentCaller) -> AllocationView:
        row = allocation(deps.engine, allocation_id)
        if row is None:
            raise NotFound(f"no allocation {allocation_id!r}")
        require_visible_allocation(caller, people_of(row))
        return allocation_view(deps.engine, row, today())

    @router.put(
        "/allocations/{allocation_id}/draft",
        response_model=AllocationView,
        responses={403: {}, 404: {}, 409: {}},
    )
    def draft(allocation_id: Identifier, body: AuditDraft, caller: CurrentCaller) -> AllocationView:
        """Save the audit as far as it is filled in (the auditor's own)."""
        save_draft(deps.engine, allocation_id, caller, body, deps.clock.now())
        return view_of(allocation_id)

    @router.post(
        "/allocations/{allocation_id}/reflections",
        status_code=201,
        response_model=AllocationView,
        responses={403: {}, 404: {}, 409: {}, 422: {}},
    )
    def reflect(
        allocation_id: Identifier, body: ReflectionForm, caller: CurrentCaller
    ) -> AllocationView:
        """The practitioner's, team manager's or auditor's reflection on the audit."""
        add_reflection(deps.engine, allocation_id, caller, body, deps.clock.now())
        return view_of(allocation_id)

    @router.post(
        "/allocations/{allocation_id}/submit",
        status_code=201,
        response_model=Submitted,
        responses={403: {}, 404: {}, 409: {}, 422: {}},
    )
    def submit(
        allocation_id: Identifier,
        body: AllocatedAuditForm,
        response: Response,
        caller: CurrentCaller,
        idempotency_key: IdempotencyKey = None,
    ) -> Submitted:
        """Submit the programme audit: recorded and published exactly as POST /audits."""
        caller.require_self(body.auditor_id, "auditor_id")
        sent = AllocatedSubmission(body, idempotency_key)
        row, audit, replayed = submit_allocated(ctx, allocation_id, caller, sent, deps.clock.now())
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        else:
            AUDITS_GRADED.labels(audit.overall_grade, audit.service_area, audit.audit_kind).inc()
        response.headers["Location"] = f"/audits/{audit.id}"
        return Submitted(allocation=view_of(row.id), audit=AuditView.of(audit))

    @router.post(
        "/allocations/{allocation_id}/decline",
        response_model=Declined,
        responses={403: {}, 404: {}, 409: {}, 422: {}},
    )
    def decline_allocation(
        allocation_id: Identifier, body: ReasonForm, caller: CurrentCaller
    ) -> Declined:
        """Give the audit back, with a reason; it goes to the next eligible auditor."""
        done = decline(ctx, allocation_id, caller, body, deps.clock.now())
        successor = done.successor
        return Declined(
            declined=view_of(done.declined.id),
            reallocated=view_of(successor.id) if successor else None,
            unallocated_reason=done.unallocated_reason,
        )

    @router.post(
        "/allocations/{allocation_id}/exempt",
        response_model=AllocationView,
        responses={403: {}, 404: {}, 409: {}, 422: {}},
    )
    def exempt_allocation(
        allocation_id: Identifier, body: ReasonForm, caller: CurrentCaller
    ) -> AllocationView:
        """Take the case out of the month's programme (the area's assistant director)."""
        row = exempt(ctx, allocation_id, caller, body, deps.clock.now())
        return view_of(row.id)

    @router.get("/stats/programme", response_model=ProgrammeFigures)
    def programme_stats(caller: CurrentCaller, month: OptionalMonth = None) -> ProgrammeFigures:
        """The month's programme against its target, over the allocations the caller may see."""
        day = today()
        chosen = month or day.strftime("%Y-%m")
        target = programme_size(deps.engine, chosen) or deps.monthly_target
        tallies = allocation_tallies(deps.engine, chosen, caller, day)
        return figures_from_tallies(
            month_start(chosen), target, tallies, deps.organisation, day, deps.calendar
        )

    return router
