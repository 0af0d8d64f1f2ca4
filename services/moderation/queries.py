"""Read side of the moderation service."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine, and_, case, func, literal, union_all
from sqlalchemy import select as select_columns
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from services.moderation.consistency import Consistency, consistency_of_counts
from services.moderation.domain import Moderation, ModerationStatus
from services.moderation.models import Moderation as ModerationRow
from services.moderation.models import SamplingRate
from services.moderation.sampling import SamplingPolicy
from shared.auth import Caller
from shared.calendar import month_bounds, month_start, months_span, uk_day_start
from shared.events.vocabulary import Grade, ServiceArea
from shared.http import OptionalMonth
from shared.paging import PageQuery, one_page
from shared.visibility import PeopleColumns, areas_in_view, visible_where

COMPLETED = ModerationStatus.COMPLETED.value
OPEN = ModerationStatus.OPEN.value


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
    month: OptionalMonth = None
    """Only those moderated in this month (UK time), `YYYY-MM`."""


def list_moderations(
    engine: Engine, caller: Caller, wanted: ModerationFilter, paging: PageQuery
) -> list[Moderation]:
    """One page of the moderations asked for, of those the caller may see: open before
    completed (`first_for`'s own open ones before all), each oldest request first (a queue:
    what waits longest comes first).

    Each of the three groups is read in index order and cut at the page's end before they are
    put together, so a page costs about its offset plus its size, not the whole history."""
    mine = col(ModerationRow.moderator_id) == (wanted.first_for or "")
    status = col(ModerationRow.status)
    groups = (
        and_(status == OPEN, mine),
        and_(status == OPEN, ~mine),
        # Every other status: there is only one (ModerationStatus), and `==` reads an index.
        status == COMPLETED,
    )
    requested_at, moderation_id = col(ModerationRow.requested_at), col(ModerationRow.id)
    enough = paging.offset + paging.limit
    conditions = _wanted(caller, wanted)
    heads = [
        select_columns(literal(rank).label("rank"), requested_at, moderation_id)
        .where(*conditions, group)
        .order_by(requested_at, moderation_id)
        .limit(enough)
        .subquery()
        for rank, group in enumerate(groups)
    ]
    page = union_all(*(select(head) for head in heads)).subquery()
    query = (
        select(ModerationRow)
        .join(page, moderation_id == page.c.id)
        .order_by(page.c.rank, page.c.requested_at, page.c.id)
    )
    with Session(engine) as session:
        rows = session.exec(one_page(query, paging)).all()
        return [row.to_domain() for row in rows]


def _wanted(caller: Caller, wanted: ModerationFilter) -> list[ColumnElement[bool]]:
    """The conditions of the moderations asked for, of those the caller may see."""
    conditions = [visible_where(caller, PEOPLE)]
    equal = (
        (col(ModerationRow.moderator_id), wanted.moderator),
        (col(ModerationRow.status), wanted.status),
        (col(ModerationRow.service_area), wanted.service_area),
        (col(ModerationRow.audit_id), wanted.audit_id),
        (col(ModerationRow.case_id), wanted.case_id),
        (col(ModerationRow.outstanding_practice), wanted.outstanding),
    )
    conditions += [column == value for column, value in equal if value is not None]
    if wanted.month is not None:
        first, last = months_span(wanted.month, wanted.month)
        conditions += [
            col(ModerationRow.moderated_at) >= uk_day_start(first),
            col(ModerationRow.moderated_at) < uk_day_start(last + timedelta(days=1)),
        ]
    return conditions


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
    nothing was moderated.

    The database counts each (auditor grade, moderated grade) pair per month and area, which
    is all the figures need: one small row per pair, however many moderations there are."""
    first, last = months_span(from_month, to_month)
    months = _months(first, last)
    if not months:
        return []
    counts = grade_pair_counts_by_month(engine, months, visible_where(caller, PEOPLE))
    areas = set(areas_in_view(caller)) | {area for _month, area in counts}
    return [
        ConsistencyRow.of(month, area, consistency_of_counts(counts.get((month, area), {})))
        for month in months
        for area in sorted(areas)
    ]


PairCounts = dict[tuple[Grade, Grade], int]
"""How often each (auditor grade, moderated grade) pair occurred."""


def grade_pair_counts_by_month(
    engine: Engine, months: list[str], visible: ColumnElement[bool]
) -> dict[tuple[str, str], PairCounts]:
    """Pair counts of the completed moderations moderated in `months` (consecutive `YYYY-MM`,
    UK time) that `visible` lets through, per (month, service area)."""
    starts = [uk_day_start(month_start(month)) for month in months]
    end = uk_day_start(month_bounds(month_start(months[-1]))[1] + timedelta(days=1))
    moderated_at = col(ModerationRow.moderated_at)
    # UK months as ranges of instants, worked out here (zoneinfo), so that SQLite and
    # PostgreSQL bucket alike and the range stays a plain index range.
    month = case(
        *(
            (moderated_at < next_start, label)
            for next_start, label in zip([*starts[1:], end], months, strict=True)
        )
    ).label("month")
    query = (
        select_columns(
            month,
            col(ModerationRow.service_area),
            col(ModerationRow.auditor_grade),
            col(ModerationRow.moderated_grade),
            func.count(),
        )
        .where(
            col(ModerationRow.status) == COMPLETED,
            moderated_at >= starts[0],
            moderated_at < end,
            col(ModerationRow.moderated_grade).is_not(None),
            visible,
        )
        .group_by(
            month,
            col(ModerationRow.service_area),
            col(ModerationRow.auditor_grade),
            col(ModerationRow.moderated_grade),
        )
    )
    counts: dict[tuple[str, str], PairCounts] = defaultdict(dict)
    with Session(engine) as session:
        for label, area, auditor_grade, moderated_grade, count in session.execute(query).all():
            counts[(label, area)][(Grade(auditor_grade), Grade(moderated_grade))] = count
    return dict(counts)


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
