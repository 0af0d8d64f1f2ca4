"""Read side of the moderation service."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine, and_, case, func
from sqlmodel import Session, col, select

from services.moderation.consistency import Consistency, consistency
from services.moderation.domain import Moderation, ModerationStatus
from services.moderation.models import Moderation as ModerationRow
from services.moderation.models import SamplingRate
from services.moderation.sampling import SamplingPolicy
from shared.auth import Caller
from shared.calendar import months_span, uk_day_start, uk_month
from shared.db import where_equal
from shared.events.vocabulary import Grade, ServiceArea
from shared.http import Month
from shared.paging import PageQuery, one_page
from shared.visibility import PeopleColumns, areas_in_view, visible_where

COMPLETED = ModerationStatus.COMPLETED.value


class ConsistencyRow(BaseModel):
    month: str
    service_area: str
    moderated: int
    agreement_rate: float
    mean_absolute_difference: float
    moderator_worse_share: float
    moderator_better_share: float
    weighted_kappa: float | None

    @classmethod
    def of(cls, month: str, area: str, figures: Consistency) -> "ConsistencyRow":
        return cls(month=month, service_area=area, **figures.__dict__)


PEOPLE = PeopleColumns(
    service_area=col(ModerationRow.service_area),
    named=(
        col(ModerationRow.auditor_id),
        col(ModerationRow.practitioner_id),
        col(ModerationRow.team_manager_id),
        col(ModerationRow.moderator_id),
    ),
)
"""Where a moderation keeps the people of its audit (its moderator is one of them)."""


@dataclass(frozen=True)
class ModerationFilter:
    """Which moderations a list asks for; every part is optional."""

    moderator: str | None = None
    status: Literal["open", "completed"] | None = None
    service_area: ServiceArea | None = None
    audit_id: str | None = None
    case_id: str | None = None
    first_for: str | None = None
    """A staff id whose open moderations come first (their queue), then every other open one."""
    outstanding: bool | None = None
    """Only those the moderator flagged as outstanding practice (true) or did not (false)."""
    month: Month | None = None
    """Only those moderated in this month (UK time), `YYYY-MM`."""


def list_moderations(
    engine: Engine, caller: Caller, wanted: ModerationFilter, paging: PageQuery
) -> list[Moderation]:
    """One page of the moderations asked for, of those the caller may see: open before
    completed (`first_for`'s own open ones before all), each oldest request first (a queue:
    what waits longest comes first)."""
    query = select(ModerationRow).where(visible_where(caller, PEOPLE))
    query = where_equal(
        query,
        (
            (col(ModerationRow.moderator_id), wanted.moderator),
            (col(ModerationRow.status), wanted.status),
            (col(ModerationRow.service_area), wanted.service_area),
            (col(ModerationRow.audit_id), wanted.audit_id),
            (col(ModerationRow.case_id), wanted.case_id),
            (col(ModerationRow.outstanding_practice), wanted.outstanding),
        ),
    )
    if wanted.month is not None:
        first, last = months_span(wanted.month, wanted.month)
        query = query.where(
            col(ModerationRow.moderated_at) >= uk_day_start(first),
            col(ModerationRow.moderated_at) < uk_day_start(last + timedelta(days=1)),
        )
    with Session(engine) as session:
        is_open = col(ModerationRow.status) == "open"
        mine_open = and_(is_open, col(ModerationRow.moderator_id) == (wanted.first_for or ""))
        ordered = query.order_by(
            case((mine_open, 0), (is_open, 1), else_=2),
            col(ModerationRow.requested_at),
            col(ModerationRow.id),
        )
        rows = session.exec(one_page(ordered, paging)).all()
        return [row.to_domain() for row in rows]


def find_moderation(engine: Engine, moderation_id: str) -> Moderation | None:
    with Session(engine) as session:
        row = session.get(ModerationRow, moderation_id)
        return None if row is None else row.to_domain()


def consistency_by_month(
    engine: Engine, from_month: str, to_month: str, caller: Caller
) -> list[ConsistencyRow]:
    """Consistency figures for each month (of moderation) and service area, months inclusive,
    over the moderations of the audits the caller may see: every month for each area the
    caller leads (every area for those who see every audit) or has figures in, zero when
    nothing was moderated."""
    first, last = months_span(from_month, to_month)
    query = select(
        ModerationRow.moderated_at,
        ModerationRow.service_area,
        ModerationRow.auditor_grade,
        ModerationRow.moderated_grade,
    ).where(
        ModerationRow.status == COMPLETED,
        col(ModerationRow.moderated_at) >= uk_day_start(first),
        col(ModerationRow.moderated_at) < uk_day_start(last + timedelta(days=1)),
        visible_where(caller, PEOPLE),
    )
    pairs: dict[tuple[str, str], list[tuple[Grade, Grade]]] = defaultdict(list)
    with Session(engine) as session:
        for moderated_at, area, auditor_grade, moderated_grade in session.exec(query).all():
            if moderated_at is None or moderated_grade is None:
                continue
            pairs[(uk_month(moderated_at), area)].append(
                (Grade(auditor_grade), Grade(moderated_grade))
            )
    areas = set(areas_in_view(caller)) | {area for _month, area in pairs}
    return [
        ConsistencyRow.of(month, area, consistency(pairs.get((month, area), [])))
        for month in _months(first, last)
        for area in sorted(areas)
    ]


def _months(first: date, last: date) -> list[str]:
    """`YYYY-MM` of every month from `first`'s to `last`'s."""
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def grade_pair_counts(engine: Engine) -> dict[str, dict[tuple[Grade, Grade], int]]:
    """How often each (auditor grade, moderated grade) pair occurred, per area, so far."""
    moderated = func.coalesce(ModerationRow.moderated_grade, ModerationRow.auditor_grade)
    query = (
        select(ModerationRow.service_area, ModerationRow.auditor_grade, moderated, func.count())
        .where(ModerationRow.status == COMPLETED)
        .group_by(col(ModerationRow.service_area), col(ModerationRow.auditor_grade), moderated)
    )
    counts: dict[str, dict[tuple[Grade, Grade], int]] = defaultdict(dict)
    with Session(engine) as session:
        for area, auditor_grade, moderated_grade, count in session.exec(query).all():
            counts[area][(Grade(auditor_grade), Grade(moderated_grade))] = count
    return dict(counts)


def sampling_rates(engine: Engine, policy: SamplingPolicy) -> dict[str, float]:
    with Session(engine) as session:
        stored = {row.service_area: row.to_domain() for row in session.exec(select(SamplingRate))}
    return {area.value: policy.rate_of(stored.get(area.value)) for area in ServiceArea}
