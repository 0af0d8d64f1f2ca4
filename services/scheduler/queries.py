"""Read side of the scheduler: follow-up lists, timelines, timeliness, gauges."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Engine, Subquery, and_, func, literal, or_, union_all
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.scheduler import metrics
from services.scheduler.followup import FollowUpState, FollowUpStatus
from services.scheduler.models import (
    AuditFact,
    FollowUp,
    ModeratorFact,
    RefusedReauditRecord,
    TimelineEntry,
)
from services.scheduler.store import state_of
from shared.auth import Caller
from shared.calendar import month_start, uk_day
from shared.clock import Clock
from shared.events.vocabulary import FollowUpAction, FollowUpOutcome, ServiceArea
from shared.paging import PageQuery, one_page
from shared.visibility import AuditPeople, PeopleColumns, areas_in_view, visible_where

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


@dataclass(frozen=True)
class TimelinessCounts:
    """What `Timeliness` is worked out from, counted by the database for a group of
    follow-ups (cancelled ones left out)."""

    followups: int = 0
    conversations_decided: int = 0
    """Held, or past their due date: a conversation counts once it is decided."""
    conversations_on_time: int = 0
    """Held and not late."""
    reaudits_done: int = 0
    """Re-audited, with a re-audit due date."""
    reaudits_overdue: int = 0
    """Not re-audited and past the re-audit due date: it counts as due."""
    reaudits_on_time: int = 0
    completed: int = 0
    """With an outcome."""
    improved: int = 0


NONE = TimelinessCounts()


def timeliness_counts(today: date) -> tuple[ColumnElement[int], ...]:
    """`TimelinessCounts`' fields, in order, as aggregates over follow-up rows."""
    held = col(FollowUp.conversation_held_on).is_not(None)
    reaudited = and_(
        col(FollowUp.reaudit_graded_on).is_not(None), col(FollowUp.reaudit_due_on).is_not(None)
    )
    outcome = and_(col(FollowUp.outcome).is_not(None), col(FollowUp.outcome) != "")
    return (
        func.count(),
        func.count().filter(or_(held, col(FollowUp.conversation_due_on) < today)),
        func.count().filter(
            held,
            or_(
                col(FollowUp.conversation_late).is_(None),
                col(FollowUp.conversation_late).is_(False),
            ),
        ),
        func.count().filter(reaudited),
        func.count().filter(
            col(FollowUp.reaudit_graded_on).is_(None),
            col(FollowUp.reaudit_due_on).is_not(None),
            col(FollowUp.reaudit_due_on) < today,
        ),
        func.count().filter(
            reaudited, col(FollowUp.reaudit_graded_on) <= col(FollowUp.reaudit_due_on)
        ),
        func.count().filter(outcome),
        func.count().filter(col(FollowUp.outcome) == FollowUpOutcome.IMPROVED),
    )


def timeliness(
    engine: Engine, caller: Caller, first: date, last: date, today: date
) -> list[Timeliness]:
    """Per month of grading and area, of the follow-ups the caller may see: conversations within
    5 working days, re-audits on time, and improvement at re-audit. A conversation counts once it
    is held or its due date passed. Every month of the span is there for each area the caller
    leads (every area for those who see every audit) or has figures in, zero when none.

    Counted by the database, one row per month and area, from the follow-ups graded in the span
    (`ix_followups_grading_day`)."""
    months = months_between(first, last)
    if not months:
        return []
    graded = col(FollowUp.grading_day)
    spans = month_spans(months, graded, lambda day: day)
    query = (
        select(spans.c.month, col(FollowUp.service_area), *timeliness_counts(today))
        .select_from(FollowUp)
        .join(spans, and_(graded >= spans.c.starts, graded < spans.c.ends))
        .outerjoin(AuditFact, col(AuditFact.audit_id) == col(FollowUp.audit_id))
        .where(
            visible_where(caller, PEOPLE),
            col(FollowUp.grading_day) >= first,
            col(FollowUp.grading_day) <= last,
            FollowUp.status != FollowUpStatus.CANCELLED,
        )
        .group_by(spans.c.month, col(FollowUp.service_area))
    )
    with Session(engine) as session:
        groups = {(row[0], row[1]): TimelinessCounts(*row[2:]) for row in session.exec(query)}
    areas = set(areas_in_view(caller)) | {area for _month, area in groups}
    return [
        timeliness_of(month, area, groups.get((month, area), NONE))
        for month in months
        for area in sorted(areas)
    ]


def month_spans(
    months: Sequence[str], column: Mapped[Any], start_of: Callable[[date], object]
) -> Subquery:
    """A table of `months` (`YYYY-MM`): `month`, its first instant `starts` and the next
    month's `ends`, as `column` holds them (`start_of` a month's first day: the day itself for a
    date column, `uk_day_start` for a timestamp counted in UK months).

    Rows are grouped by month by joining them to it on `starts <= column < ends`: the database
    reads each month's rows off the column's index, estimates the groups by the months (a CASE
    over the column made PostgreSQL expect a group a row and sort them all), and SQLite and
    PostgreSQL count UK months alike with no date or time zone function of their own."""
    kind = column.type  # type: ignore[attr-defined]
    rows = [
        select(
            literal(month).label("month"),
            literal(start_of(month_start(month)), kind).label("starts"),
            literal(start_of(next_month_start(month)), kind).label("ends"),
        )
        for month in months
    ]
    return union_all(*rows).subquery("months")


def next_month_start(month: str) -> date:
    return (month_start(month) + timedelta(days=32)).replace(day=1)


def months_between(first: date, last: date) -> list[str]:
    """`YYYY-MM` of every month from `first`'s to `last`'s."""
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def timeliness_of(month: str, area: str, counts: TimelinessCounts) -> Timeliness:
    """The figures of one month and area from its counts."""
    # A re-audit counts once it is done or its due date has passed, so overdue ones count too.
    reaudits_due = counts.reaudits_done + counts.reaudits_overdue
    return Timeliness(
        month=month,
        service_area=area,
        followups=counts.followups,
        conversations_decided=counts.conversations_decided,
        conversations_on_time=counts.conversations_on_time,
        conversations_on_time_pct=_pct(counts.conversations_on_time, counts.conversations_decided),
        reaudits_done=counts.reaudits_done,
        reaudits_on_time=counts.reaudits_on_time,
        reaudits_on_time_pct=_pct(counts.reaudits_on_time, reaudits_due),
        improved=counts.improved,
        improved_pct=_pct(counts.improved, counts.completed),
    )


def refresh_gauges(engine: Engine, clock: Clock) -> None:
    """Open and overdue counts, and conversation timeliness, for every step and area.

    One aggregate, one row per area, step and status (services/scheduler/gauges.py decides when
    it runs)."""
    today = uk_day(clock.now())
    overdue = func.count().filter(  # `followup_overdue`, of the open ones
        col(FollowUp.due_on) < today, col(FollowUp.reaudit_id).is_(None)
    )
    query = select(
        col(FollowUp.service_area),
        col(FollowUp.step),
        col(FollowUp.status),
        overdue,
        *timeliness_counts(today),
    ).group_by(col(FollowUp.service_area), col(FollowUp.step), col(FollowUp.status))
    with Session(engine) as session:
        groups = {
            (row[0], row[1], row[2]): (row[3], TimelinessCounts(*row[4:]))
            for row in session.exec(query)
        }
    for area in ServiceArea:
        for step in FollowUpAction:
            overdue_now, open_now = groups.get((area, step, FollowUpStatus.OPEN), (0, NONE))
            metrics.OPEN_FOLLOWUPS.labels(step.value, area.value).set(open_now.followups)
            metrics.OVERDUE_FOLLOWUPS.labels(step.value, area.value).set(overdue_now)
        counted = [
            counts
            for (in_area, _step, status), (_overdue, counts) in groups.items()
            if in_area == area and status != FollowUpStatus.CANCELLED
        ]
        on_time_pct = _pct(
            sum(c.conversations_on_time for c in counted),
            sum(c.conversations_decided for c in counted),
        )
        if on_time_pct is not None:
            metrics.CONVERSATIONS_ON_TIME.labels(area.value).set(on_time_pct / 100)
