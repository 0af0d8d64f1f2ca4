"""Read side of the moderation service."""

from collections import defaultdict
from datetime import date, timedelta

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.moderation.domain import Consistency, consistency
from services.moderation.handlers import SamplingPolicy, current_rate
from services.moderation.models import Moderation
from shared.calendar import uk_day_start, uk_month
from shared.db import as_utc
from shared.events.vocabulary import Grade, ServiceArea


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


def list_moderations(
    engine: Engine, moderator: str | None, status: str | None, service_area: str | None
) -> list[Moderation]:
    query = select(Moderation)
    for column, value in (
        (Moderation.moderator_id, moderator),
        (Moderation.status, status),
        (Moderation.service_area, service_area),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    with Session(engine) as session:
        return list(session.exec(query.order_by(col(Moderation.requested_at))).all())


def consistency_by_month(engine: Engine, first: date, last: date) -> list[ConsistencyRow]:
    """Consistency figures for each month (of moderation) and service area in the range."""
    query = select(Moderation).where(
        Moderation.status == "completed",
        col(Moderation.moderated_at) >= uk_day_start(first),
        col(Moderation.moderated_at) < uk_day_start(last + timedelta(days=1)),
    )
    pairs: dict[tuple[str, str], list[tuple[Grade, Grade]]] = defaultdict(list)
    with Session(engine) as session:
        for m in session.exec(query).all():
            if m.moderated_at is None or m.moderated_grade is None:
                continue
            month = uk_month(as_utc(m.moderated_at))
            pairs[(month, m.service_area)].append(
                (Grade(m.auditor_grade), Grade(m.moderated_grade))
            )
    return [
        ConsistencyRow.of(month, area, consistency(found))
        for (month, area), found in sorted(pairs.items())
    ]


def area_kappa(engine: Engine, area: str) -> float | None:
    query = select(Moderation).where(
        Moderation.status == "completed", Moderation.service_area == area
    )
    with Session(engine) as session:
        found = [
            (Grade(m.auditor_grade), Grade(m.moderated_grade or m.auditor_grade))
            for m in session.exec(query).all()
        ]
    return consistency(found).weighted_kappa


def sampling_rates(engine: Engine, policy: SamplingPolicy) -> dict[str, float]:
    with Session(engine) as session:
        return {area.value: current_rate(session, area.value, policy) for area in ServiceArea}
