"""Read side of agreed actions: lists, one action with who may see it, and monthly figures.

Who sees an action: whoever may see its audit (shared.visibility), and its owner and the
owner's manager, who act on it whether or not the audit names them.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Engine, and_, func, not_, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.scheduler.action_store import action_state, actions_of
from services.scheduler.actions import ActionState, managed_by, managers_of
from services.scheduler.models import ActionRecord, AuditFact, ModeratorFact
from services.scheduler.queries import audit_people, month_spans, months_between
from shared.auth import Caller
from shared.calendar import uk_day_start
from shared.db import where_equal
from shared.events.vocabulary import ActionStatus, ServiceArea
from shared.organisation import Organisation
from shared.paging import PageQuery, one_page
from shared.visibility import AuditPeople, PeopleColumns, areas_in_view, may_see, visible_where

PEOPLE = PeopleColumns(
    service_area=col(ActionRecord.service_area),
    named=(
        col(AuditFact.auditor_id),
        col(AuditFact.practitioner_id),
        col(AuditFact.team_manager_id),
        col(ActionRecord.owner_id),
    ),
    audit_id=col(ActionRecord.audit_id),
    moderators=(col(ModeratorFact.audit_id), col(ModeratorFact.moderator_id)),
)
"""An action's people: its audit's (facts outer-joined, moderators) and its owner."""


def _visible_where(caller: Caller, organisation: Organisation) -> ColumnElement[bool]:
    managed = managed_by(caller.id, organisation)
    return or_(visible_where(caller, PEOPLE), col(ActionRecord.owner_id).in_(sorted(managed)))


def visible_actions(caller: Caller, organisation: Organisation) -> SelectOfScalar[ActionRecord]:
    return (
        select(ActionRecord)
        .outerjoin(AuditFact, col(AuditFact.audit_id) == col(ActionRecord.audit_id))
        .where(_visible_where(caller, organisation))
    )


@dataclass(frozen=True)
class ActionFilter:
    """Which actions a list asks for; every part is optional."""

    owner: str | None = None
    case_id: str | None = None
    origin_id: str | None = None
    service_area: ServiceArea | None = None
    team_id: str | None = None
    status: Literal["open", "done", "verified", "not_achieved", "cancelled"] | None = None
    overdue: bool | None = None


def list_actions(
    engine: Engine,
    caller: Caller,
    organisation: Organisation,
    wanted: ActionFilter,
    paging: PageQuery,
    today: date,
) -> list[ActionState]:
    """One page of the actions asked for that the caller may see, soonest due first."""
    query = visible_actions(caller, organisation)
    query = where_equal(
        query,
        (
            (col(ActionRecord.owner_id), wanted.owner),
            (col(ActionRecord.case_id), wanted.case_id),
            (col(ActionRecord.origin_id), wanted.origin_id),
            (col(ActionRecord.service_area), wanted.service_area),
            (col(ActionRecord.team_id), wanted.team_id),
            (col(ActionRecord.status), wanted.status),
        ),
    )
    if wanted.overdue is not None:  # `is_action_overdue` in SQL, so pages hold only those
        overdue = and_(
            col(ActionRecord.status) == ActionStatus.OPEN, col(ActionRecord.due_on) < today
        )
        query = query.where(overdue if wanted.overdue else not_(overdue))
    ordered = query.order_by(
        col(ActionRecord.due_on), col(ActionRecord.origin_id), col(ActionRecord.position)
    )
    with Session(engine) as session:
        return [action_state(row) for row in session.exec(one_page(ordered, paging)).all()]


def find_action(engine: Engine, action_id: str) -> tuple[ActionState, AuditPeople] | None:
    """One action and the people of its audit."""
    with Session(engine) as session:
        row = session.get(ActionRecord, action_id)
        if row is None:
            return None
        return action_state(row), audit_people(session, row.service_area, row.audit_id)


def may_see_action(
    caller: Caller, action: ActionState, people: AuditPeople, organisation: Organisation
) -> bool:
    """`visible_actions` for one action."""
    mine = {action.owner_id, *managers_of(action, organisation)}
    return may_see(caller, people) or caller.id in mine


class ActionFigures(BaseModel):
    month: str
    service_area: str
    agreed: int = 0
    done_on_time: int = 0
    done_late: int = 0
    verified: int = 0
    not_achieved: int = 0
    open: int = 0
    overdue: int = 0
    completion_rate: float | None = None
    """Done (on time or late, verified or not since) over those agreed and not cancelled."""
    verification_rate: float | None = None
    """Verified over those the re-audit judged (verified or not achieved)."""


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class ActionCounts:
    """What `ActionFigures` is worked out from, counted by the database for a group of actions
    of one status."""

    agreed: int = 0
    done: int = 0
    """With a done date (done, verified or not achieved since)."""
    late: int = 0
    """Done after their due date."""
    overdue: int = 0
    """`is_action_overdue`: open and past their due date."""


def action_counts(today: date) -> tuple[ColumnElement[int], ...]:
    """`ActionCounts`' fields, in order, as aggregates over action rows."""
    done = col(ActionRecord.done_on).is_not(None)
    return (
        func.count(),
        func.count().filter(done),
        func.count().filter(done, col(ActionRecord.done_on) > col(ActionRecord.due_on)),
        func.count().filter(
            col(ActionRecord.status) == ActionStatus.OPEN, col(ActionRecord.due_on) < today
        ),
    )


def action_figures(month: str, area: str, by_status: Mapping[str, ActionCounts]) -> ActionFigures:
    """The figures of one month and area from its counts, status by status."""
    agreed = sum(counts.agreed for counts in by_status.values())
    done = sum(counts.done for counts in by_status.values())
    late = sum(counts.late for counts in by_status.values())
    count = {status: by_status.get(status, NONE).agreed for status in ActionStatus}
    judged = count[ActionStatus.VERIFIED] + count[ActionStatus.NOT_ACHIEVED]
    return ActionFigures(
        month=month,
        service_area=area,
        agreed=agreed,
        done_on_time=done - late,
        done_late=late,
        verified=count[ActionStatus.VERIFIED],
        not_achieved=count[ActionStatus.NOT_ACHIEVED],
        open=count[ActionStatus.OPEN],
        overdue=sum(counts.overdue for counts in by_status.values()),
        completion_rate=_rate(done, agreed - count[ActionStatus.CANCELLED]),
        verification_rate=_rate(count[ActionStatus.VERIFIED], judged),
    )


NONE = ActionCounts()


def action_stats(
    engine: Engine,
    caller: Caller,
    organisation: Organisation,
    months: tuple[date, date],
    today: date,
) -> list[ActionFigures]:
    """Per month agreed (UK time) and service area, of the actions the caller may see; every
    month of the span for each area the caller leads (every area for those who see every audit:
    admins, machine callers, the QA lead) or has figures in.

    Counted by the database, one row per month, area and status, from the actions agreed in the
    span (`ix_actions_agreed_at`)."""
    first, last = months
    names = months_between(first, last)
    if not names:
        return []
    agreed = col(ActionRecord.agreed_at)
    spans = month_spans(names, agreed, uk_day_start)
    query = (
        select(
            spans.c.month,
            col(ActionRecord.service_area),
            col(ActionRecord.status),
            *action_counts(today),
        )
        .select_from(ActionRecord)
        .join(spans, and_(agreed >= spans.c.starts, agreed < spans.c.ends))
        .outerjoin(AuditFact, col(AuditFact.audit_id) == col(ActionRecord.audit_id))
        .where(
            _visible_where(caller, organisation),
            col(ActionRecord.agreed_at) >= uk_day_start(first),
            col(ActionRecord.agreed_at) < uk_day_start(last + timedelta(days=1)),
        )
        .group_by(spans.c.month, col(ActionRecord.service_area), col(ActionRecord.status))
    )
    groups: dict[tuple[str, str], dict[str, ActionCounts]] = defaultdict(dict)
    with Session(engine) as session:
        for row in session.exec(query):
            groups[(row[0], row[1])][row[2]] = ActionCounts(*row[3:])
    areas = set(areas_in_view(caller)) | {area for _month, area in groups}
    return [
        action_figures(month_name, area, groups.get((month_name, area), {}))
        for month_name in names
        for area in sorted(areas)
    ]


def actions_by_origin(engine: Engine, origin_ids: list[str]) -> dict[str, list[ActionState]]:
    """The actions agreed in each origin (follow-ups the caller may already see)."""
    with Session(engine) as session:
        return actions_of(session, origin_ids)
