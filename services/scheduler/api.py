"""HTTP routes of the scheduler."""

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import Engine

from services.scheduler.action_api import ActionView
from services.scheduler.action_queries import actions_by_origin
from services.scheduler.actions import ActionState
from services.scheduler.conversation import ConversationForm
from services.scheduler.followup import FollowUpState, followup_overdue
from services.scheduler.handlers import reassign_reaudit, record_conversation
from services.scheduler.models import FollowUp, RefusedReauditRecord, TimelineEntry
from services.scheduler.queries import (
    FollowUpFilter,
    Timeliness,
    followup_with_timeline,
    list_followups,
    timeliness,
)
from services.scheduler.reassignment import ReassignForm
from services.scheduler.store import SchedulerContext
from shared.access import CurrentCaller
from shared.auth import AccessRole, Caller, Forbidden
from shared.calendar import months_span, uk_day
from shared.db import retried, transaction
from shared.errors import NotFound
from shared.http import Month
from shared.paging import Paging
from shared.visibility import require_visible


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
    actions: list[ActionView]
    """The actions agreed in its conversation, in the order agreed."""

    @classmethod
    def of(
        cls, followup: FollowUpState, today: date, actions: Sequence[ActionState] = ()
    ) -> "FollowUpView":
        return cls.model_validate(
            {
                **asdict(followup),
                "overdue": followup_overdue(followup, today),
                "actions": [ActionView.of(action, today) for action in actions],
            }
        )


class TimelineLine(BaseModel):
    at: datetime
    what: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: TimelineEntry) -> "TimelineLine":
        return cls(at=entry.at, what=entry.what, detail=entry.detail)


class RefusedReauditLine(BaseModel):
    """A re-audit that did not complete the follow-up, for a manager to look into."""

    audit_id: str
    auditor_id: str
    reason: str
    at: datetime

    @classmethod
    def of(cls, record: RefusedReauditRecord) -> "RefusedReauditLine":
        return cls(
            audit_id=record.audit_id,
            auditor_id=record.auditor_id,
            reason=record.reason,
            at=record.refused_at,
        )


class FollowUpWithTimeline(FollowUpView):
    timeline: list[TimelineLine]
    refused_reaudits: list[RefusedReauditLine]


def scheduler_router(engine: Engine, ctx: SchedulerContext) -> APIRouter:
    router = APIRouter(tags=["follow-ups"])

    def today() -> date:
        return uk_day(ctx.clock.now())

    @router.get("/followups", response_model=list[FollowUpView])
    def search(
        wanted: Annotated[FollowUpFilter, Depends()], paging: Paging, caller: CurrentCaller
    ) -> list[FollowUpView]:
        """One page of the follow-ups asked for, of the audits the caller may see."""
        found = list_followups(engine, caller, wanted, paging, today())
        actions = actions_by_origin(engine, [f.id for f in found])
        return [FollowUpView.of(f, today(), actions[f.id]) for f in found]

    @router.get(
        "/followups/{followup_id}",
        response_model=FollowUpWithTimeline,
        responses={403: {}, 404: {}},
    )
    def one(followup_id: str, caller: CurrentCaller) -> FollowUpWithTimeline:
        found = followup_with_timeline(engine, followup_id)
        if found is None:
            raise NotFound(f"no follow-up {followup_id!r}")
        require_visible(caller, found.people, "this follow-up")
        actions = actions_by_origin(engine, [followup_id])[followup_id]
        view = FollowUpView.of(found.followup, today(), actions)
        return FollowUpWithTimeline(
            **view.model_dump(),
            timeline=[TimelineLine.of(e) for e in found.timeline],
            refused_reaudits=[RefusedReauditLine.of(r) for r in found.refused_reaudits],
        )

    @router.post(
        "/followups/{followup_id}/reflective-conversation",
        response_model=FollowUpView,
        responses={404: {}, 409: {}, 422: {}},
    )
    def conversation(
        followup_id: str, form: ConversationForm, caller: CurrentCaller
    ) -> FollowUpView:
        caller.require_self(form.recorded_by, "recorded_by")
        recorded = retried(partial(_conversation, engine, ctx, caller, followup_id, form))
        actions = actions_by_origin(engine, [followup_id])[followup_id]
        return FollowUpView.of(recorded, today(), actions)

    @router.post(
        "/followups/{followup_id}/reassign",
        response_model=FollowUpView,
        responses={403: {}, 404: {}, 422: {}},
    )
    def reassignment(followup_id: str, form: ReassignForm, caller: CurrentCaller) -> FollowUpView:
        """Give the re-audit to another trained auditor; the assistant director of the
        follow-up's service area (or an admin) does it."""
        reassigned = retried(partial(_reassignment, engine, ctx, caller, followup_id, form))
        actions = actions_by_origin(engine, [followup_id])[followup_id]
        return FollowUpView.of(reassigned, today(), actions)

    @router.get("/stats/timeliness", response_model=list[Timeliness])
    def stats(from_month: Month, to_month: Month, caller: CurrentCaller) -> list[Timeliness]:
        """Timeliness of the follow-ups the caller may see (shared.visibility)."""
        return timeliness(engine, caller, *months_span(from_month, to_month), today())

    return router


# Each a whole transaction, run again by `retried` if it loses a race (a deadlock), so that a
# person never sees one.


def _conversation(
    engine: Engine,
    ctx: SchedulerContext,
    caller: Caller,
    followup_id: str,
    form: ConversationForm,
) -> FollowUpState:
    with transaction(engine) as session:
        # Checked in the recording transaction: one read, and a refusal writes nothing.
        if (existing := session.get(FollowUp, followup_id)) is not None:
            caller.require_area(existing.service_area, "this follow-up")
        followup, _replayed = record_conversation(session, followup_id, form, ctx)
        return followup


def _reassignment(
    engine: Engine,
    ctx: SchedulerContext,
    caller: Caller,
    followup_id: str,
    form: ReassignForm,
) -> FollowUpState:
    with transaction(engine) as session:
        if (existing := session.get(FollowUp, followup_id)) is not None:
            _require_director_of(caller, ctx, existing.service_area)
        return reassign_reaudit(session, followup_id, form, caller.id, ctx)


def _require_director_of(caller: Caller, ctx: SchedulerContext, service_area: str) -> None:
    """Reassigning is the assistant director's of the area, not any area lead's."""
    director = ctx.rules.organisation.leads_of(service_area).assistant_director
    if caller.id != director and not caller.has(AccessRole.ADMIN):
        raise Forbidden(f"only the assistant director of {service_area} reassigns its follow-ups")
