"""HTTP routes of agreed actions: lists, one action, changes, verification, monthly figures."""

from datetime import date, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import Engine

from services.scheduler.action_changes import ActionChangeForm
from services.scheduler.action_decisions import VerificationForm
from services.scheduler.action_handlers import update_action, verify_action
from services.scheduler.action_queries import (
    ActionFigures,
    ActionFilter,
    action_stats,
    find_action,
    list_actions,
    may_see_action,
)
from services.scheduler.actions import ActionState, is_action_overdue
from services.scheduler.store import SchedulerContext
from shared.access import CurrentCaller
from shared.auth import Forbidden
from shared.calendar import months_span, uk_day
from shared.db import retried, transaction
from shared.errors import NotFound
from shared.http import Month
from shared.paging import Paging


class EvidenceLine(BaseModel):
    note: str
    by: str
    at: datetime


class HistoryLine(BaseModel):
    at: datetime
    by: str
    what: str


class ActionView(BaseModel):
    id: str
    case_id: str
    origin: str
    origin_id: str
    audit_id: str | None
    service_area: str
    team_id: str
    what: str
    owner_id: str
    due_on: date
    status: str
    overdue: bool
    evidence: list[EvidenceLine]
    status_reason: str | None
    history: list[HistoryLine]
    agreed_at: datetime

    @classmethod
    def of(cls, action: ActionState, today: date) -> "ActionView":
        return cls(
            id=action.id,
            case_id=action.case_id,
            origin=action.origin,
            origin_id=action.origin_id,
            audit_id=action.audit_id,
            service_area=action.service_area,
            team_id=action.team_id,
            what=action.what,
            owner_id=action.owner_id,
            due_on=action.due_on,
            status=action.status,
            overdue=is_action_overdue(action.status, action.due_on, today),
            evidence=[EvidenceLine(note=e.text, by=e.by, at=e.at) for e in action.evidence],
            status_reason=action.status_reason,
            history=[HistoryLine(at=h.at, by=h.by, what=h.text) for h in action.history],
            agreed_at=action.agreed_at,
        )


def action_router(engine: Engine, ctx: SchedulerContext) -> APIRouter:
    router = APIRouter(tags=["actions"])
    organisation = ctx.rules.organisation

    def today() -> date:
        return uk_day(ctx.clock.now())

    @router.get("/actions", response_model=list[ActionView])
    def search(
        wanted: Annotated[ActionFilter, Depends()], paging: Paging, caller: CurrentCaller
    ) -> list[ActionView]:
        """One page of the actions asked for that the caller may see, soonest due first."""
        found = list_actions(engine, caller, organisation, wanted, paging, today())
        return [ActionView.of(action, today()) for action in found]

    @router.get("/actions/{action_id}", response_model=ActionView, responses={403: {}, 404: {}})
    def one(action_id: str, caller: CurrentCaller) -> ActionView:
        found = find_action(engine, action_id)
        if found is None:
            raise NotFound(f"no action {action_id!r}")
        action, people = found
        if not may_see_action(caller, action, people, organisation):
            raise Forbidden("this action is not yours to see: its audit does not name you")
        return ActionView.of(action, today())

    @router.post(
        "/actions/{action_id}", response_model=ActionView, responses={403: {}, 404: {}, 422: {}}
    )
    def change(action_id: str, form: ActionChangeForm, caller: CurrentCaller) -> ActionView:
        """The owner marks it done; their manager or the Head of Service reassigns, re-dates,
        cancels (with a reason) or reopens it; any of them adds evidence."""
        caller.require_self(form.changed_by, "changed_by")
        changed = retried(partial(_update, engine, action_id, form, ctx))
        return ActionView.of(changed, today())

    @router.post(
        "/actions/{action_id}/verification",
        response_model=ActionView,
        responses={403: {}, 404: {}, 422: {}},
    )
    def verification(action_id: str, form: VerificationForm, caller: CurrentCaller) -> ActionView:
        """The follow-up's re-audit owner says whether a done action made a difference."""
        caller.require_self(form.verified_by, "verified_by")
        verified = retried(partial(_verify, engine, action_id, form, ctx))
        return ActionView.of(verified, today())

    @router.get("/stats/actions", response_model=list[ActionFigures])
    def stats(from_month: Month, to_month: Month, caller: CurrentCaller) -> list[ActionFigures]:
        """Actions agreed per month and area, of those the caller may see, and how they went."""
        span = months_span(from_month, to_month)
        return action_stats(engine, caller, organisation, span, today())

    return router


# Each a whole transaction, run again by `retried` if it loses a race (a deadlock), so that a
# person never sees one.


def _update(
    engine: Engine, action_id: str, form: ActionChangeForm, ctx: SchedulerContext
) -> ActionState:
    with transaction(engine) as session:
        return update_action(session, action_id, form, ctx)


def _verify(
    engine: Engine, action_id: str, form: VerificationForm, ctx: SchedulerContext
) -> ActionState:
    with transaction(engine) as session:
        return verify_action(session, action_id, form, ctx)
