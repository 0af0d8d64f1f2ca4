"""HTTP routes of the audit service: translate requests to use cases and answers back."""

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from services.audit.domain import AuditForm, AuditRejected
from services.audit.handlers import IdempotencyKeyReused, submit_audit
from services.audit.metrics import AUDITS_GRADED
from services.audit.models import Audit
from services.audit.queries import AuditFilter, graded_rows, learning_audits_in_month, list_audits
from services.audit.stats import (
    GradeBucket,
    Grouping,
    TargetProgress,
    grade_distribution,
    target_progress,
)
from shared.access import CurrentCaller
from shared.calendar import UK, WorkingDayCalendar, month_bounds
from shared.clock import Clock
from shared.db import as_utc, transaction
from shared.events.vocabulary import AuditKind, Grade
from shared.http import Month
from shared.organisation import Organisation

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=8, max_length=128)
]


class AuditView(BaseModel):
    id: str
    case_id: str
    audit_kind: AuditKind
    reaudit_of: str | None
    service_area: str
    team_id: str
    area: str
    practitioner_id: str
    team_manager_id: str
    auditor_id: str
    overall_grade: Grade
    domain_grades: dict[str, Grade]
    voice_of_child_evidenced: bool
    voice_of_child_note: str | None
    could_be_better_if: list[str]
    themes: list[str]
    graded_at: datetime

    @classmethod
    def of(cls, audit: Audit) -> "AuditView":
        fields = audit.model_dump()
        fields["graded_at"] = as_utc(audit.graded_at)
        return cls.model_validate(fields)


@dataclass(frozen=True)
class AuditDependencies:
    engine: Engine
    organisation: Organisation
    clock: Clock
    calendar: WorkingDayCalendar
    monthly_target: int


def first_of(month: str) -> date:
    return date.fromisoformat(f"{month}-01")


def rule_errors(problems: list[tuple[str, str, str]]) -> JSONResponse:
    """A 422 in FastAPI's own error shape, so clients read rule and schema errors alike."""
    detail = [
        {"loc": [where, field], "msg": message, "type": "audit_rule"}
        for where, field, message in problems
    ]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def audit_router(deps: AuditDependencies) -> APIRouter:
    router = APIRouter(tags=["audits"])

    def record(form: AuditForm, key: str | None) -> tuple[Audit, bool]:
        try:
            with transaction(deps.engine) as session:
                return submit_audit(session, form, key, deps.organisation, deps.clock.now())
        except IntegrityError:
            if key is None:
                raise
            # The same key was submitted concurrently and the other request won: replay it.
            with transaction(deps.engine) as session:
                return submit_audit(session, form, key, deps.organisation, deps.clock.now())

    @router.post(
        "/audits",
        status_code=201,
        response_model=AuditView,
        responses={422: {"description": "a field breaks a rule; each is named"}},
    )
    async def submit(
        form: AuditForm,
        response: Response,
        caller: CurrentCaller,
        idempotency_key: IdempotencyKey = None,
    ) -> AuditView | JSONResponse:
        caller.require_self(form.auditor_id, "auditor_id")
        try:
            audit, replayed = await asyncio.to_thread(record, form, idempotency_key)
        except AuditRejected as rejected:
            return rule_errors([("body", p.field, p.message) for p in rejected.problems])
        except IdempotencyKeyReused:
            return rule_errors(
                [("header", "Idempotency-Key", "already used for a different audit submission")]
            )
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        else:
            AUDITS_GRADED.labels(audit.overall_grade, audit.service_area, audit.audit_kind).inc()
        response.headers["Location"] = f"/audits/{audit.id}"
        return AuditView.of(audit)

    @router.get("/audits/{audit_id}", response_model=AuditView)
    async def get_audit(audit_id: str) -> AuditView:
        def load() -> Audit | None:
            with transaction(deps.engine) as session:
                return session.get(Audit, audit_id)

        audit = await asyncio.to_thread(load)
        if audit is None:
            raise HTTPException(status_code=404, detail=f"no audit {audit_id!r}")
        return AuditView.of(audit)

    @router.get("/audits", response_model=list[AuditView])
    async def search(
        team_id: str | None = None,
        service_area: str | None = None,
        area: str | None = None,
        month: Month | None = None,
        grade: Grade | None = None,
        kind: AuditKind | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[AuditView]:
        where = AuditFilter(
            team_id, service_area, area, first_of(month) if month else None, grade, kind
        )
        audits = await asyncio.to_thread(list_audits, deps.engine, where, limit, offset)
        return [AuditView.of(audit) for audit in audits]

    @router.get("/stats/grades", response_model=list[GradeBucket])
    async def grade_stats(
        from_month: Month, to_month: Month, by: Grouping = Grouping.COUNTY
    ) -> list[GradeBucket]:
        first, last = first_of(from_month), first_of(to_month)
        if last < first:
            raise HTTPException(status_code=422, detail="to_month is before from_month")
        rows = await asyncio.to_thread(graded_rows, deps.engine, first, month_bounds(last)[1])
        return grade_distribution(rows, by)

    @router.get("/stats/target", response_model=TargetProgress)
    async def target() -> TargetProgress:
        today = deps.clock.now().astimezone(UK).date()
        done = await asyncio.to_thread(learning_audits_in_month, deps.engine, today)
        return target_progress(done, deps.monthly_target, today, deps.calendar)

    return router
