"""HTTP routes of the moderation service."""

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from services.moderation import metrics
from services.moderation.handlers import (
    AlreadyModerated,
    ModerationForm,
    ModerationRefused,
    NotAllowed,
    SamplingPolicy,
    record_moderation,
    set_sampling_rate,
)
from services.moderation.models import Moderation
from services.moderation.queries import (
    ConsistencyRow,
    area_kappa,
    consistency_by_month,
    list_moderations,
    sampling_rates,
)
from shared.access import CurrentCaller
from shared.calendar import month_bounds
from shared.clock import Clock
from shared.db import as_utc, transaction
from shared.events.data import Identifier
from shared.events.vocabulary import Grade, ServiceArea
from shared.http import Month
from shared.organisation import Organisation


class ModerationView(BaseModel):
    id: str
    audit_id: str
    case_id: str
    service_area: str
    team_id: str
    auditor_id: str
    moderator_id: str
    reason: str
    auditor_grade: Grade
    status: Literal["open", "completed"]
    requested_at: datetime
    moderated_grade: Grade | None
    grade_difference: int | None
    rationale: str | None
    moderated_at: datetime | None

    @classmethod
    def of(cls, moderation: Moderation) -> "ModerationView":
        fields = moderation.model_dump()
        fields["requested_at"] = as_utc(moderation.requested_at)
        if moderation.moderated_at is not None:
            fields["moderated_at"] = as_utc(moderation.moderated_at)
        return cls.model_validate(fields)


class RateChange(BaseModel):
    rate: float = Field(ge=0, le=1)
    changed_by: Identifier


@dataclass(frozen=True)
class ModerationDependencies:
    engine: Engine
    organisation: Organisation
    clock: Clock
    policy: SamplingPolicy


def _unprocessable(field: str, message: str) -> HTTPException:
    return HTTPException(
        422, detail=[{"loc": ["body", field], "msg": message, "type": "moderation_rule"}]
    )


def moderation_router(deps: ModerationDependencies) -> APIRouter:
    router = APIRouter(tags=["moderation"])

    @router.get("/moderations", response_model=list[ModerationView])
    async def queue(
        moderator: str | None = None,
        status: Literal["open", "completed"] | None = None,
        service_area: ServiceArea | None = None,
    ) -> list[ModerationView]:
        found = await asyncio.to_thread(
            list_moderations, deps.engine, moderator, status, service_area
        )
        return [ModerationView.of(m) for m in found]

    @router.get("/moderations/{moderation_id}", response_model=ModerationView)
    async def one(moderation_id: str) -> ModerationView:
        def load() -> Moderation | None:
            with transaction(deps.engine) as session:
                return session.get(Moderation, moderation_id)

        moderation = await asyncio.to_thread(load)
        if moderation is None:
            raise HTTPException(404, detail=f"no moderation {moderation_id!r}")
        return ModerationView.of(moderation)

    @router.post(
        "/moderations/{moderation_id}",
        response_model=ModerationView,
        responses={404: {}, 409: {}, 422: {}},
    )
    async def record(
        moderation_id: str, form: ModerationForm, caller: CurrentCaller
    ) -> ModerationView:
        caller.require_self(form.moderator_id, "moderator_id")

        def save() -> Moderation:
            with transaction(deps.engine) as session:
                moderation, _ = record_moderation(
                    session, moderation_id, form, deps.policy, deps.clock.now()
                )
                return moderation

        try:
            moderation = await asyncio.to_thread(save)
        except LookupError as exc:
            raise HTTPException(404, detail=f"no moderation {moderation_id!r}") from exc
        except NotAllowed as exc:
            raise HTTPException(403, detail=str(exc)) from exc
        except AlreadyModerated as exc:
            raise HTTPException(409, detail="already moderated by another request") from exc
        except ModerationRefused as refused:
            raise _unprocessable(refused.field, refused.message) from refused
        kappa = await asyncio.to_thread(area_kappa, deps.engine, moderation.service_area)
        if kappa is not None:
            metrics.WEIGHTED_KAPPA.labels(moderation.service_area).set(kappa)
        return ModerationView.of(moderation)

    @router.get("/stats/consistency", response_model=list[ConsistencyRow])
    async def consistency(from_month: Month, to_month: Month) -> list[ConsistencyRow]:
        first = date.fromisoformat(f"{from_month}-01")
        _, last = month_bounds(date.fromisoformat(f"{to_month}-01"))
        return await asyncio.to_thread(consistency_by_month, deps.engine, first, last)

    @router.get("/sampling", response_model=dict[str, float])
    async def rates() -> dict[str, float]:
        return await asyncio.to_thread(sampling_rates, deps.engine, deps.policy)

    @router.put("/sampling/{service_area}", response_model=dict[str, float], responses={403: {}})
    async def change_rate(
        service_area: ServiceArea, change: RateChange, caller: CurrentCaller
    ) -> dict[str, float]:
        caller.require_self(change.changed_by, "changed_by")

        def save() -> None:
            with transaction(deps.engine) as session:
                set_sampling_rate(
                    session,
                    service_area,
                    change.rate,
                    change.changed_by,
                    deps.organisation,
                    deps.policy,
                    deps.clock.now(),
                )

        try:
            await asyncio.to_thread(save)
        except NotAllowed as exc:
            raise HTTPException(403, detail=str(exc)) from exc
        return await asyncio.to_thread(sampling_rates, deps.engine, deps.policy)

    return router
