"""HTTP routes of the scheduler."""

import asyncio
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy import Engine

from services.scheduler.handlers import (
    AlreadyRecorded,
    ConversationForm,
    FollowUpRefused,
    NotYetKnown,
    SchedulerContext,
    record_conversation,
)
from services.scheduler.models import FollowUp, TimelineEntry
from services.scheduler.queries import (
    Timeliness,
    followup_with_timeline,
    list_followups,
    timeliness,
)
from shared.access import CurrentCaller
from shared.calendar import UK, month_bounds
from shared.db import as_utc, transaction
from shared.events.vocabulary import ServiceArea
from shared.http import Month

Status = Literal["open", "overdue", "completed", "cancelled"]


class FollowUpView(BaseModel):
    id: str
    audit_id: str
    case_id: str
    service_area: str
    team_id: str
    found_by: str
    grading_day: date
    status: str
    overdue: bool
    step: str
    owner_id: str
    due_on: date
    conversation_due_on: date
    conversation_held_on: date | None
    conversation_late: bool | None
    attendees: list[str]
    agreed_actions: list[str]
    reaudit_due_on: date | None
    reaudit_id: str | None
    outcome: str | None
    cancelled_reason: str | None

    @classmethod
    def of(cls, followup: FollowUp, today: date) -> "FollowUpView":
        overdue = followup.status == "open" and followup.due_on < today
        return cls.model_validate({**followup.model_dump(), "overdue": overdue})


class TimelineLine(BaseModel):
    at: datetime
    what: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: TimelineEntry) -> "TimelineLine":
        return cls(at=as_utc(entry.at), what=entry.what, detail=entry.detail)


class FollowUpWithTimeline(FollowUpView):
    timeline: list[TimelineLine]


def scheduler_router(engine: Engine, ctx: SchedulerContext) -> APIRouter:
    router = APIRouter(tags=["follow-ups"])

    def today() -> date:
        return ctx.clock.now().astimezone(UK).date()

    @router.get("/followups", response_model=list[FollowUpView])
    async def search(
        status: Status | None = None,
        owner: str | None = None,
        service_area: ServiceArea | None = None,
        *,
        caller: CurrentCaller,
    ) -> list[FollowUpView]:
        if service_area is not None:
            caller.require_area(service_area, "the service area asked for")
        found = await asyncio.to_thread(
            list_followups, engine, status, owner, service_area, today()
        )
        return [FollowUpView.of(f, today()) for f in found if caller.sees_area(f.service_area)]

    @router.get("/followups/{followup_id}", response_model=FollowUpWithTimeline)
    async def one(followup_id: str, caller: CurrentCaller) -> FollowUpWithTimeline:
        found = await asyncio.to_thread(followup_with_timeline, engine, followup_id)
        if found is None:
            raise HTTPException(404, detail=f"no follow-up {followup_id!r}")
        followup, timeline = found
        caller.require_area(followup.service_area, "this follow-up")
        view = FollowUpView.of(followup, today())
        return FollowUpWithTimeline(
            **view.model_dump(), timeline=[TimelineLine.of(e) for e in timeline]
        )

    @router.post(
        "/followups/{followup_id}/reflective-conversation",
        response_model=FollowUpView,
        responses={404: {}, 409: {}, 422: {}},
    )
    async def conversation(
        followup_id: str, form: ConversationForm, caller: CurrentCaller
    ) -> FollowUpView:
        caller.require_self(form.recorded_by, "recorded_by")

        def save() -> FollowUp:
            with transaction(engine) as session:
                # Checked in the recording transaction: one read, and a refusal writes nothing.
                if (existing := session.get(FollowUp, followup_id)) is not None:
                    caller.require_area(existing.service_area, "this follow-up")
                return record_conversation(session, followup_id, form, ctx)[0]

        try:
            followup = await asyncio.to_thread(save)
        except LookupError as exc:
            raise HTTPException(404, detail=f"no follow-up {followup_id!r}") from exc
        except (AlreadyRecorded, NotYetKnown) as exc:
            raise HTTPException(
                409, detail=str(exc) or "a different conversation was recorded"
            ) from exc
        except FollowUpRefused as refused:
            raise HTTPException(
                422,
                detail=[
                    {
                        "loc": ["body", refused.field],
                        "msg": refused.message,
                        "type": "followup_rule",
                    }
                ],
            ) from refused
        return FollowUpView.of(followup, today())

    @router.get("/stats/timeliness", response_model=list[Timeliness])
    async def stats(from_month: Month, to_month: Month) -> list[Timeliness]:
        first = date.fromisoformat(f"{from_month}-01")
        _, last = month_bounds(date.fromisoformat(f"{to_month}-01"))
        return await asyncio.to_thread(timeliness, engine, first, last, today())

    return router
