"""Read side of the scheduler: follow-up lists, timelines, timeliness, gauges."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.scheduler import metrics
from services.scheduler.followup import FollowUpState, FollowUpStatus, followup_overdue
from services.scheduler.models import (
    AuditFact,
    FollowUp,
    ModeratorFact,
    RefusedReauditRecord,
    TimelineEntry,
)
from services.scheduler.store import state_of
from shared.auth import Caller
from shared.calendar import uk_day
from shared.clock import Clock
from shared.events.vocabulary import FollowUpAction, FollowUpOutcome, ServiceArea
from shared.paging import PageQuery, one_page
from shared.visibility import AuditPeople, PeopleColumns, areas_in_view, visible_where

GAUGE_REFRESH_SECONDS = 15.0
Status = Literal["open", "overdue", "completed", "cancelled"]


class Timeliness(BaseModel):
    month: str
    service_area: str
    followups: int
    conversations_decided: int
    conversations_on_time: int
    conversations_on_time_pct: float | None
    reaudits_done: int
    reaudits_on_time: int
    reaudits_on_time_pct: float | None
    improved: int
    improved_pct: float | None


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class FollowUpFilter:
    """Which follow-ups a list asks for; every part is optional."""

    status: Status | None = None
    owner: str | None = None
    service_area: ServiceArea | None = None
    audit_id: str | None = None
    case_id: str | None = None


PEOPLE = PeopleColumns(
    service_area=col(FollowUp.service_area),
    named=(
        col(AuditFact.auditor_id),
        col(AuditFact.practitioner_id),
        col(AuditFact.team_manager_id),
    ),
    audit_id=col(FollowUp.audit_id),
    moderators=(col(ModeratorFact.audit_id), col(ModeratorFact.moderator_id)),
)
"""A follow-up's people are its audit's: its facts (outer-joined) and its moderators."""


def visible_followups(caller: Caller) -> SelectOfScalar[FollowUp]:
    """The follow-ups of the audits the caller may see (shared.visibility)."""
    return (
        select(FollowUp)
        .outerjoin(AuditFact, col(AuditFact.audit_id) == col(FollowUp.audit_id))
        .where(visible_where(caller, PEOPLE))
    )


def list_followups(
    engine: Engine, caller: Caller, wanted: FollowUpFilter, paging: PageQuery, today: date
) -> list[FollowUpState]:
    """One page of the follow-ups asked for, of the audits the caller may see, soonest due
    first."""
    query = visible_followups(caller)
    if wanted.audit_id is not None:
        query = query.where(FollowUp.audit_id == wanted.audit_id)
    if wanted.case_id is not None:
        query = query.where(FollowUp.case_id == wanted.case_id)
    if wanted.status == "overdue":  # `followup_overdue` in SQL: pages hold only overdue ones
        query = query.where(
            FollowUp.status == FollowUpStatus.OPEN,
            col(FollowUp.due_on) < today,
            col(FollowUp.reaudit_id).is_(None),
        )
    elif wanted.status is not None:
        query = query.where(FollowUp.status == wanted.status)
    if wanted.owner is not None:
        query = query.where(FollowUp.owner_id == wanted.owner)
    if wanted.service_area is not None:
        query = query.where(FollowUp.service_area == wanted.service_area)
    ordered = query.order_by(col(FollowUp.due_on), col(FollowUp.id))
    with Session(engine) as session:
        return [state_of(f) for f in session.exec(one_page(ordered, paging)).all()]


@dataclass(frozen=True)
class FollowUpRecord:
    """One follow-up, its timeline, and the people of its audit (who may see it)."""

    followup: FollowUpState
    timeline: list[TimelineEntry]
    people: AuditPeople
    refused_reaudits: list[RefusedReauditRecord]


def followup_with_timeline(engine: Engine, followup_id: str) -> FollowUpRecord | None:
    with Session(engine) as session:
        followup = session.get(FollowUp, followup_id)
        if followup is None:
            return None
        query = (
            select(TimelineEntry)
            .where(TimelineEntry.followup_id == followup_id)
            .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
        )
        timeline = list(session.exec(query).all())
        refused = select(RefusedReauditRecord).where(
            RefusedReauditRecord.followup_id == followup_id
        )
        return FollowUpRecord(
            state_of(followup),
            timeline,
            people_of(session, followup),
            list(session.exec(refused.order_by(col(RefusedReauditRecord.refused_at))).all()),
        )


def people_of(session: Session, followup: FollowUp) -> AuditPeople:
    """The people of a follow-up's audit, as far as the scheduler has learnt them."""
    return audit_people(session, followup.service_area, followup.audit_id)


def audit_people(session: Session, service_area: str, audit_id: str | None) -> AuditPeople:
    """The people of an audit (of a follow-up, or of an action agreed in one)."""
    fact = session.get(AuditFact, audit_id) if audit_id else None
    moderators = select(ModeratorFact.moderator_id).where(ModeratorFact.audit_id == audit_id)
    return AuditPeople(
        service_area,
        auditor_id=fact.auditor_id if fact else None,
        practitioner_id=fact.practitioner_id if fact else None,
        team_manager_id=fact.team_manager_id if fact else None,
        moderator_ids=frozenset(session.exec(moderators).all()),
    )


def timeliness(
    engine: Engine, caller: Caller, first: date, last: date, today: date
) -> list[Timeliness]:
    """Per month of grading and area, of the follow-ups the caller may see: conversations within
    5 working days, re-audits on time, and improvement at re-audit. A conversation counts once it
    is held or its due date passed. Every month of the span is there for each area the caller
    leads (every area for those who see every audit) or has figures in, zero when none."""
    query = visible_followups(caller).where(
        col(FollowUp.grading_day) >= first,
        col(FollowUp.grading_day) <= last,
        FollowUp.status != FollowUpStatus.CANCELLED,
    )
    groups: dict[tuple[str, str], list[FollowUpState]] = defaultdict(list)
    with Session(engine) as session:
        for row in session.exec(query).all():
            followup = state_of(row)
            groups[(followup.grading_day.strftime("%Y-%m"), followup.service_area)].append(followup)
    areas = set(areas_in_view(caller)) | {area for _month, area in groups}
    return [
        _timeliness(month, area, groups.get((month, area), []), today)
        for month in months_between(first, last)
        for area in sorted(areas)
    ]


def months_between(first: date, last: date) -> list[str]:
    """`YYYY-MM` of every month from `first`'s to `last`'s."""
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def _timeliness(month: str, area: str, found: list[FollowUpState], today: date) -> Timeliness:
    decided = [
        f for f in found if f.conversation_held_on is not None or f.conversation_due_on < today
    ]
    on_time = [f for f in decided if f.conversation_held_on is not None and not f.conversation_late]
    reaudited = [
        f for f in found if f.reaudit_graded_on is not None and f.reaudit_due_on is not None
    ]
    # A re-audit counts once it is done or its due date has passed, so overdue ones count too.
    overdue = [
        f
        for f in found
        if f.reaudit_graded_on is None and f.reaudit_due_on is not None and f.reaudit_due_on < today
    ]
    reaudits_due = len(reaudited) + len(overdue)
    reaudits_on_time = [
        f
        for f in reaudited
        if f.reaudit_graded_on and f.reaudit_due_on and f.reaudit_graded_on <= f.reaudit_due_on
    ]
    completed = [f for f in found if f.outcome is not None]
    improved = [f for f in completed if f.outcome == FollowUpOutcome.IMPROVED]
    return Timeliness(
        month=month,
        service_area=area,
        followups=len(found),
        conversations_decided=len(decided),
        conversations_on_time=len(on_time),
        conversations_on_time_pct=_pct(len(on_time), len(decided)),
        reaudits_done=len(reaudited),
        reaudits_on_time=len(reaudits_on_time),
        reaudits_on_time_pct=_pct(len(reaudits_on_time), reaudits_due),
        improved=len(improved),
        improved_pct=_pct(len(improved), len(completed)),
    )


def refresh_gauges(engine: Engine, clock: Clock) -> None:
    """Open and overdue counts, and conversation timeliness, for every step and area."""
    today = uk_day(clock.now())
    with Session(engine) as session:
        followups = [state_of(f) for f in session.exec(select(FollowUp)).all()]
    for area in ServiceArea:
        mine = [f for f in followups if f.service_area is area]
        for step in FollowUpAction:
            open_now = [f for f in mine if f.status is FollowUpStatus.OPEN and f.step is step]
            metrics.OPEN_FOLLOWUPS.labels(step.value, area.value).set(len(open_now))
            metrics.OVERDUE_FOLLOWUPS.labels(step.value, area.value).set(
                sum(followup_overdue(f, today) for f in open_now)
            )
        figures = _timeliness(
            "all", area.value, [f for f in mine if f.status is not FollowUpStatus.CANCELLED], today
        )
        if figures.conversations_on_time_pct is not None:
            metrics.CONVERSATIONS_ON_TIME.labels(area.value).set(
                figures.conversations_on_time_pct / 100
            )
