"""Use cases of the moderation service."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func
from sqlmodel import Session, col, select

from services.moderation import metrics
from services.moderation.domain import (
    adaptive_rate,
    choose_moderator,
    disagreement_rate,
    moderation_reason,
)
from services.moderation.models import Moderation, SamplingRate
from shared.db import after_commit, is_postgresql, lock_for
from shared.events import (
    AuditGraded,
    CloudEvent,
    EventData,
    InadequateFound,
    ModerationCompleted,
    ModerationDisagreed,
    ModerationRequested,
    SamplingRateChanged,
    new_event,
)
from shared.events.data import Identifier
from shared.events.vocabulary import (
    FoundBy,
    Grade,
    SamplingChangeReason,
    ServiceArea,
    grade_difference,
)
from shared.organisation import Organisation, Role
from shared.outbox import add_event

SOURCE = "/qa/moderation"
RATE_SETTERS = frozenset({Role.ASSISTANT_DIRECTOR, Role.ADMIN})


@dataclass(frozen=True)
class SamplingPolicy:
    default_rate: float
    window: int
    threshold: float
    raised_rate: float


Rationale = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class ModerationForm(BaseModel):
    """What a moderator records; `request_id` makes a retried submission harmless."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    moderator_id: Identifier
    moderated_grade: Grade
    rationale: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = (
        Field(default=None, max_length=4000)
    )
    request_id: str = Field(min_length=8, max_length=128)


class ModerationRefused(Exception):
    """The moderation cannot be recorded as asked; `field` and the message say why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AlreadyModerated(Exception):
    """The moderation was recorded before, by another request."""


class NotAllowed(Exception):
    """The person may not do this."""


class NoModeratorAvailable(Exception):
    """Everyone in the pool is the auditor or the case's team manager."""


def current_rate(session: Session, area: str, policy: SamplingPolicy) -> float:
    stored = session.get(SamplingRate, area)
    return policy.default_rate if stored is None else stored.rate


def request_moderation(
    session: Session,
    event: CloudEvent[EventData],
    organisation: Organisation,
    policy: SamplingPolicy,
    now: datetime,
) -> None:
    """Decide whether a graded audit is moderated and, if so, assign it and say so."""
    audit = event.data
    if not isinstance(audit, AuditGraded):
        raise TypeError(f"expected AuditGraded, got {event.type}")
    if session.exec(select(Moderation).where(Moderation.audit_id == audit.audit_id)).first():
        return
    rate = current_rate(session, audit.service_area, policy)
    reason = moderation_reason(audit.audit_id, audit.overall_grade, rate)
    if reason is None:
        return
    moderator = choose_moderator(
        organisation.moderators(), open_items(session), {audit.auditor_id, audit.team_manager_id}
    )
    if moderator is None:
        raise NoModeratorAvailable(audit.audit_id)
    moderation = Moderation(
        id=f"MOD-{uuid.uuid4().hex[:16]}",
        audit_id=audit.audit_id,
        case_id=audit.case_id,
        service_area=audit.service_area,
        team_id=audit.team_id,
        auditor_id=audit.auditor_id,
        team_manager_id=audit.team_manager_id,
        moderator_id=moderator.id,
        reason=reason,
        auditor_grade=audit.overall_grade,
        audit_graded_at=audit.graded_at,
        requested_at=now,
    )
    session.add(moderation)
    requested = ModerationRequested(
        case_id=audit.case_id,
        moderation_id=moderation.id,
        audit_id=audit.audit_id,
        moderator_id=moderator.id,
        auditor_id=audit.auditor_id,
        service_area=audit.service_area,
        auditor_grade=audit.overall_grade,
        reason=reason,
        requested_at=now,
    )
    add_event(session, new_event(requested, source=SOURCE, correlation_id=audit.audit_id))
    after_commit(session, metrics.MODERATIONS_REQUESTED.labels(audit.service_area, reason).inc)


def open_items(session: Session) -> dict[str, int]:
    query = (
        select(Moderation.moderator_id, func.count())
        .where(Moderation.status == "open")
        .group_by(col(Moderation.moderator_id))
    )
    return dict(session.exec(query).all())


def record_moderation(
    session: Session,
    moderation_id: str,
    form: ModerationForm,
    policy: SamplingPolicy,
    now: datetime,
) -> tuple[Moderation, bool]:
    """Record the moderated grade and publish what follows; a replayed request changes nothing."""
    query = select(Moderation).where(Moderation.id == moderation_id)
    if is_postgresql(session.get_bind()):
        query = query.with_for_update()  # two moderators' clicks must not both record
    moderation = session.exec(query).first()
    if moderation is None:
        raise LookupError(moderation_id)
    if moderation.status == "completed":
        if moderation.request_id == form.request_id:
            return moderation, True
        raise AlreadyModerated(moderation_id)
    if form.moderator_id != moderation.moderator_id:
        raise NotAllowed("only the moderator it is assigned to can record this moderation")
    auditor_grade = Grade(moderation.auditor_grade)
    difference = grade_difference(auditor_grade, form.moderated_grade)
    if difference != 0 and not form.rationale:
        raise ModerationRefused("rationale", "required when the grade differs from the auditor's")
    moderation.status, moderation.moderated_grade = "completed", form.moderated_grade
    moderation.grade_difference, moderation.rationale = difference, form.rationale
    moderation.moderated_at, moderation.request_id = now, form.request_id
    session.add(moderation)
    for data in outcome_events(moderation, now):
        add_event(session, new_event(data, source=SOURCE, correlation_id=moderation.audit_id))
    session.flush()
    _adapt_sampling(session, moderation.service_area, policy, now)
    after_commit(session, lambda: _count_completion(moderation.service_area, difference))
    return moderation, False


def outcome_events(moderation: Moderation, now: datetime) -> list[EventData]:
    """Completed always; Disagreed when the grades differ; InadequateFound when made worse."""
    fields = {
        "case_id": moderation.case_id,
        "moderation_id": moderation.id,
        "audit_id": moderation.audit_id,
        "moderator_id": moderation.moderator_id,
        "auditor_grade": moderation.auditor_grade,
        "moderated_grade": moderation.moderated_grade,
        "grade_difference": moderation.grade_difference,
        "rationale": moderation.rationale,
        "moderated_at": now,
    }
    events: list[EventData] = [ModerationCompleted.model_validate(fields)]
    if moderation.grade_difference:
        events.append(ModerationDisagreed.model_validate(fields))
    if (
        moderation.moderated_grade == Grade.INADEQUATE
        and moderation.auditor_grade != Grade.INADEQUATE
    ):
        events.append(
            InadequateFound(
                case_id=moderation.case_id,
                audit_id=moderation.audit_id,
                service_area=moderation.service_area,
                team_id=moderation.team_id,
                graded_at=now,
                found_by=FoundBy.MODERATION,
            )
        )
    return events


def _adapt_sampling(session: Session, area: str, policy: SamplingPolicy, now: datetime) -> None:
    _lock_rate(session, area)
    query = (
        select(Moderation.grade_difference)
        .where(Moderation.service_area == area, Moderation.status == "completed")
        .order_by(col(Moderation.moderated_at).desc(), col(Moderation.id).desc())
        .limit(policy.window)
    )
    stored = session.get(SamplingRate, area)
    if stored is not None and stored.reason == SamplingChangeReason.MANUAL:
        # A person's decision stands until a whole window of moderations after it disagrees;
        # the disagreements they already weighed must not raise the rate straight back.
        query = query.where(col(Moderation.moderated_at) > stored.changed_at)
    recent = session.exec(query).all()
    differences = [d for d in recent if d is not None]
    current = current_rate(session, area, policy)
    raised = adaptive_rate(
        differences,
        current,
        window=policy.window,
        threshold=policy.threshold,
        raised_rate=policy.raised_rate,
    )
    if raised is not None:
        _change_rate(
            session,
            ServiceArea(area),
            current,
            raised,
            SamplingChangeReason.ADAPTIVE,
            None,
            now,
            disagreement_rate(differences),
        )


def set_sampling_rate(
    session: Session,
    area: ServiceArea,
    rate: float,
    changed_by: str,
    organisation: Organisation,
    policy: SamplingPolicy,
    now: datetime,
) -> None:
    """A person changes an area's rate; only assistant directors and admins may."""
    person = organisation.staff_by_id.get(changed_by)
    if person is None or person.role not in RATE_SETTERS:
        raise NotAllowed("only assistant directors and admins change sampling rates")
    _lock_rate(session, area)
    current = current_rate(session, area, policy)
    _change_rate(session, area, current, rate, SamplingChangeReason.MANUAL, changed_by, now, None)


def _lock_rate(session: Session, area: str) -> None:
    """One change of an area's rate at a time, across replicas: read, decide, write, commit.

    Without it two first changes of an area would both insert its row, and one would fail.
    """
    lock_for(session, f"sampling-rate:{area}")


def _change_rate(
    session: Session,
    area: ServiceArea,
    previous: float,
    new: float,
    reason: SamplingChangeReason,
    changed_by: str | None,
    now: datetime,
    disagreement: float | None,
) -> None:
    stored = session.get(SamplingRate, area.value) or SamplingRate(
        service_area=area.value, rate=new, reason=reason, changed_at=now
    )
    stored.rate, stored.reason, stored.changed_by, stored.changed_at = new, reason, changed_by, now
    session.add(stored)
    changed = SamplingRateChanged(
        service_area=area,
        previous_rate=previous,
        new_rate=new,
        reason=reason,
        changed_by=changed_by,
        disagreement_rate=disagreement,
        changed_at=now,
    )
    add_event(session, new_event(changed, source=SOURCE))
    after_commit(session, lambda: metrics.SAMPLE_RATE.labels(area.value).set(new))


def _count_completion(area: str, difference: int) -> None:
    metrics.MODERATIONS_COMPLETED.labels(area).inc()
    metrics.GRADE_DIFFERENCE.observe(difference)
    if difference:
        metrics.DISAGREEMENTS.labels(area, "worse" if difference > 0 else "better").inc()
