"""HTTP routes of the moderation service: thin, blocking work in plain `def` routes."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from services.moderation.domain import Moderation, ModerationForm
from services.moderation.handlers import ModerationContext, record_moderation, set_sampling_rate
from services.moderation.models import columns
from services.moderation.queries import (
    ConsistencyRow,
    ModerationFilter,
    consistency_by_month,
    find_moderation,
    list_moderations,
    sampling_rates,
)
from services.moderation.sampling import ManualRate, require_own_area
from shared.access import CurrentCaller
from shared.db import transaction
from shared.errors import NotFound
from shared.events.data import Identifier
from shared.events.vocabulary import Grade, ServiceArea
from shared.http import Month
from shared.paging import Paging
from shared.visibility import require_visible


class ModerationView(BaseModel):
    id: str
    audit_id: str
    case_id: str
    service_area: str
    team_id: str
    auditor_id: str
    practitioner_id: str | None
    team_manager_id: str
    moderator_id: str
    reason: str
    auditor_grade: Grade
    status: Literal["open", "completed"]
    requested_at: datetime
    moderated_grade: Grade | None
    grade_difference: int | None
    rationale: str | None
    moderated_at: datetime | None
    outstanding_practice: bool
    """The moderator flagged the practice as outstanding (an example for the board)."""

    @classmethod
    def of(cls, moderation: Moderation) -> "ModerationView":
        return cls.model_validate(columns(moderation))


class RateChange(BaseModel):
    rate: float = Field(
        ge=0,
        le=1,
        description="The share of the area's audits sent for moderation, from 0 (none) to 1 "
        "(every one).",
        examples=[0.1],
    )
    changed_by: Identifier


@dataclass(frozen=True)
class ModerationDependencies:
    engine: Engine
    context: ModerationContext


def moderation_router(deps: ModerationDependencies) -> APIRouter:
    router = APIRouter(tags=["moderation"])
    ctx = deps.context

    @router.get("/moderations", response_model=list[ModerationView])
    def queue(
        wanted: Annotated[ModerationFilter, Depends()], paging: Paging, caller: CurrentCaller
    ) -> list[ModerationView]:
        """One page of the moderations asked for, of the audits the caller may see."""
        moderations = list_moderations(deps.engine, caller, wanted, paging)
        return [ModerationView.of(m) for m in moderations]

    @router.get(
        "/moderations/{moderation_id}", response_model=ModerationView, responses={403: {}, 404: {}}
    )
    def one(moderation_id: str, caller: CurrentCaller) -> ModerationView:
        moderation = find_moderation(deps.engine, moderation_id)
        if moderation is None:
            raise NotFound(f"no moderation {moderation_id!r}")
        require_visible(caller, moderation.people, "this moderation")
        return ModerationView.of(moderation)

    @router.post(
        "/moderations/{moderation_id}",
        response_model=ModerationView,
        responses={404: {}, 409: {}, 422: {}},
    )
    def record(moderation_id: str, form: ModerationForm, caller: CurrentCaller) -> ModerationView:
        caller.require_self(form.moderator_id, "moderator_id")
        with transaction(deps.engine) as session:
            moderation = record_moderation(
                session, moderation_id, form, ctx.policy, ctx.clock.now()
            )
        return ModerationView.of(moderation)

    @router.get("/stats/consistency", response_model=list[ConsistencyRow])
    def consistency(
        caller: CurrentCaller, from_month: Month, to_month: Month
    ) -> list[ConsistencyRow]:
        """Consistency by month and service area, over the audits the caller may see."""
        return consistency_by_month(deps.engine, from_month, to_month, caller)

    @router.get("/sampling", response_model=dict[str, float])
    def rates() -> dict[str, float]:
        return sampling_rates(deps.engine, ctx.policy)

    @router.put("/sampling/{service_area}", response_model=dict[str, float], responses={403: {}})
    def change_rate(
        service_area: ServiceArea, change: RateChange, caller: CurrentCaller
    ) -> dict[str, float]:
        caller.require_self(change.changed_by, "changed_by")
        require_own_area(caller, service_area)
        with transaction(deps.engine) as session:
            manual = ManualRate(service_area, change.rate, change.changed_by)
            set_sampling_rate(session, manual, ctx.organisation, ctx.policy, ctx.clock.now())
        return sampling_rates(deps.engine, ctx.policy)

    return router
