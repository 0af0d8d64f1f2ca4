"""HTTP routes of the audit service: translate requests to use cases and answers back."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel
from sqlalchemy import Engine

from services.audit.domain import AuditForm
from services.audit.handlers import Submission, record_audit
from services.audit.metrics import AUDITS_GRADED
from services.audit.models import Audit
from services.audit.queries import AuditFilter, audit_by_id, grade_counts, list_audits
from services.audit.stats import GradeBucket, Grouping, grade_buckets, tallies_of
from shared.access import CurrentCaller
from shared.calendar import WorkingDayCalendar, month_start, months_span
from shared.clock import Clock
from shared.errors import FieldProblem, NotFound, RuleBroken
from shared.events.vocabulary import AuditKind, Grade
from shared.http import Month, OptionalMonth
from shared.organisation import Organisation
from shared.paging import Paging
from shared.visibility import require_visible

IDEMPOTENCY_KEY_TEXT = (
    "Your own key for this submission, 8 to 128 characters (a UUID will do); send a new one for "
    "each audit. Sending the same key again with the same form answers the audit the first "
    "submission created (201, header `Idempotent-Replayed: true`) instead of recording a second; "
    "the same key with a different form is refused (422, naming Idempotency-Key). Keys are yours "
    "alone (another caller's same key is another audit), shared by POST /audits and POST "
    "/allocations/{allocation_id}/submit, and kept as long as the audit they created (the "
    "case-record retention, six years by default). Without a key every submission records anew."
)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        description=IDEMPOTENCY_KEY_TEXT,
        examples=["3f0c2a9e-6b1d-4f5e-9a47-1c2d3e4f5a6b"],
    ),
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
        return cls.model_validate(audit.model_dump())


@dataclass(frozen=True)
class AuditDependencies:
    engine: Engine
    organisation: Organisation
    clock: Clock
    calendar: WorkingDayCalendar
    monthly_target: int
    small_number_threshold: int = 3
    """Counts from 1 to this less one are hidden below a service area (services.audit.settings)."""


@dataclass(frozen=True)
class AuditSearch:
    """The `/audits` query: which audits (the page is `shared.paging`'s)."""

    team_id: str | None = None
    service_area: str | None = None
    area: str | None = None
    month: OptionalMonth = None
    grade: Grade | None = None
    kind: AuditKind | None = None
    auditor_id: str | None = None
    practitioner_id: str | None = None
    team_manager_id: str | None = None
    case_id: str | None = None

    def filter(self) -> AuditFilter:
        return AuditFilter(
            team_id=self.team_id,
            service_area=self.service_area,
            area=self.area,
            month=month_start(self.month) if self.month else None,
            grade=self.grade,
            kind=self.kind,
            auditor_id=self.auditor_id,
            practitioner_id=self.practitioner_id,
            team_manager_id=self.team_manager_id,
            case_id=self.case_id,
        )


def audit_router(deps: AuditDependencies) -> APIRouter:
    router = APIRouter(tags=["audits"])

    @router.post(
        "/audits",
        status_code=201,
        response_model=AuditView,
        responses={422: {"description": "a field breaks a rule; each is named"}},
    )
    def submit(
        form: AuditForm,
        response: Response,
        caller: CurrentCaller,
        idempotency_key: IdempotencyKey = None,
    ) -> AuditView:
        caller.require_self(form.auditor_id, "auditor_id")
        sent = Submission(form, caller.id, idempotency_key)
        audit, replayed = record_audit(deps.engine, sent, deps.organisation, deps.clock)
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        else:
            AUDITS_GRADED.labels(audit.overall_grade, audit.service_area, audit.audit_kind).inc()
        response.headers["Location"] = f"/audits/{audit.id}"
        return AuditView.of(audit)

    @router.get("/audits/{audit_id}", response_model=AuditView, responses={403: {}, 404: {}})
    def get_audit(audit_id: str, caller: CurrentCaller) -> AuditView:
        found = audit_by_id(deps.engine, audit_id)
        if found is None:
            raise NotFound(f"no audit {audit_id!r}")
        audit, people = found
        require_visible(caller, people, "this audit")
        return AuditView.of(audit)

    @router.get("/audits", response_model=list[AuditView])
    def search(
        query: Annotated[AuditSearch, Depends()], paging: Paging, caller: CurrentCaller
    ) -> list[AuditView]:
        """A page of the audits asked for, of those the caller may see."""
        audits = list_audits(deps.engine, caller, query.filter(), paging)
        return [AuditView.of(audit) for audit in audits]

    @router.get("/stats/grades", response_model=list[GradeBucket])
    def grade_stats(
        caller: CurrentCaller, from_month: Month, to_month: Month, by: Grouping = Grouping.COUNTY
    ) -> list[GradeBucket]:
        """Grades by month over the audits the caller may see."""
        first, last = months_span(from_month, to_month)
        if last < first:
            raise RuleBroken(
                "audit_rule", [FieldProblem("to_month", "is before from_month", "query")]
            )
        return grade_buckets(tallies_of(grade_counts(deps.engine, first, last, caller, by)))

    return router
