"""Use cases of the moderation service: load, let `domain` decide, save, publish what follows."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.moderation import metrics
from services.moderation.domain import Moderation, ModerationForm, ModerationStatus, assign, record
from services.moderation.models import Moderation as ModerationRow
from services.moderation.models import SamplingRate
from services.moderation.sampling import (
    ManualRate,
    SamplingPolicy,
    StoredRate,
    adapted_rate,
    change_by_hand,
    require_rate_setter,
)
from shared.clock import Clock
from shared.db import after_commit, lock_for, once_per_transaction, read_rows_ahead, row_read_ahead
from shared.errors import NotFound
from shared.events import AuditGraded, CloudEvent, EventData, SamplingRateChanged, new_event
from shared.events.vocabulary import ServiceArea
from shared.inbox import EventHandler, reads_ahead, reads_only_its_subject
from shared.organisation import Organisation
from shared.outbox import add_event
from shared.wakeup import wake_after_commit

SOURCE = "/qa/moderation"


@dataclass(frozen=True)
class ModerationContext:
    """What the use cases need besides a session: who is who, the sampling policy, the time."""

    organisation: Organisation
    policy: SamplingPolicy
    clock: Clock


def event_handlers(ctx: ModerationContext) -> dict[type[EventData], EventHandler]:
    """The service's handler of each event it consumes (the app subscribes exactly these)."""

    # It reads its audit's moderation, and what all share it reads once per batch and keeps
    # up to date itself: the rows before it need not be flushed first.
    @reads_ahead(read_assignments_ahead)
    @reads_only_its_subject
    def on_audit_graded(session: Session, event: CloudEvent[EventData]) -> None:
        request_moderation(session, event, ctx.organisation, ctx.policy, ctx.clock.now())

    return {AuditGraded: on_audit_graded}


def read_assignments_ahead(session: Session, events: Sequence[CloudEvent[EventData]]) -> None:
    """For a batch of gradings, before any is handled (shared.inbox `reads_ahead`): the
    moderation each audit has already, if any, one query for all."""
    audits = [(e, e.data.audit_id) for e in events if isinstance(e.data, AuditGraded)]
    read_rows_ahead(session, ModerationRow, "audit_id", audits)


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
    if row_read_ahead(session, ModerationRow, "audit_id", audit.audit_id) is not None:
        return  # redelivered: it was assigned the first time
    # Read once for a batch of events (shared.consumer), and counted on as it assigns.
    area = audit.service_area
    rate = once_per_transaction(session, f"rate:{area}", lambda: stored_rate(session, area))
    load = once_per_transaction(session, "open_items", lambda: open_items(session))
    requested = assign(
        audit,
        policy.rate_of(rate),
        organisation.moderators(),
        load,
        moderation_id=f"MOD-{uuid.uuid4().hex[:16]}",
        now=now,
    )
    if requested is None:
        return
    moderator = requested.moderation.moderator_id
    load[moderator] = load.get(moderator, 0) + 1
    session.add(ModerationRow.of(requested.moderation))
    add_event(session, new_event(requested.event, source=SOURCE, correlation_id=audit.audit_id))
    counter = metrics.MODERATIONS_REQUESTED.labels(audit.service_area, requested.moderation.reason)
    after_commit(session, counter.inc)


def open_items(session: Session) -> dict[str, int]:
    query = (
        select(ModerationRow.moderator_id, func.count())
        .where(ModerationRow.status == ModerationStatus.OPEN.value)
        .group_by(col(ModerationRow.moderator_id))
    )
    return dict(session.exec(query).all())


def stored_rate(session: Session, area: ServiceArea) -> StoredRate | None:
    stored = session.get(SamplingRate, area.value)
    return None if stored is None else stored.to_domain()


def record_moderation(
    session: Session,
    moderation_id: str,
    form: ModerationForm,
    policy: SamplingPolicy,
    now: datetime,
) -> Moderation:
    """Record the moderated grade and publish what follows; a replayed request changes nothing."""
    # Two moderators' clicks must not both record: the second waits here, then sees it done.
    query = select(ModerationRow).where(ModerationRow.id == moderation_id).with_for_update()
    row = session.exec(query).first()
    if row is None:
        raise NotFound(f"no moderation {moderation_id!r}")
    recorded = record(row.to_domain(), form, now)
    if recorded.replayed:
        return recorded.moderation
    row.write(recorded.moderation)
    session.add(row)
    for data in recorded.events:
        add_event(session, new_event(data, source=SOURCE, correlation_id=row.audit_id))
    session.flush()
    _adapt_sampling(session, recorded.moderation.service_area, policy, now)
    after_commit(session, lambda: _count_completion(recorded.moderation))
    wake_after_commit(session, metrics.CONSISTENCY_CHANNEL)  # the kappa gauges count again
    return recorded.moderation


def _adapt_sampling(
    session: Session, area: ServiceArea, policy: SamplingPolicy, now: datetime
) -> None:
    _lock_rate(session, area)
    history = latest_moderations(session, area, policy.window)
    changed = adapted_rate(area, history, stored_rate(session, area), policy, now)
    if changed is not None:
        _save_rate(session, changed)


def latest_moderations(
    session: Session, area: ServiceArea, count: int
) -> list[tuple[datetime, int]]:
    """(moderated_at, grade difference) of the area's last `count` moderations, newest first."""
    query = (
        select(ModerationRow.moderated_at, ModerationRow.grade_difference)
        .where(
            ModerationRow.service_area == area.value,
            ModerationRow.status == ModerationStatus.COMPLETED.value,
            # Always true of a completed one; said, so that no index scan starts at the nulls.
            col(ModerationRow.moderated_at).is_not(None),
        )
        # One index (migration 0006) in this order: the window costs its size, not history.
        .order_by(col(ModerationRow.moderated_at).desc(), col(ModerationRow.id).desc())
        .limit(count)
    )
    return [
        (at, difference)
        for at, difference in session.exec(query).all()
        if at is not None and difference is not None
    ]


def set_sampling_rate(
    session: Session,
    change: ManualRate,
    organisation: Organisation,
    policy: SamplingPolicy,
    now: datetime,
) -> None:
    """A person changes an area's rate; only those the domain allows may."""
    person = organisation.staff_by_id.get(change.changed_by)
    require_rate_setter(person)  # before the lock: a refusal waits for nobody
    _lock_rate(session, change.service_area)
    stored = stored_rate(session, change.service_area)
    _save_rate(session, change_by_hand(change, person, stored, policy, now))


def _lock_rate(session: Session, area: ServiceArea) -> None:
    """One change of an area's rate at a time, across replicas: read, decide, write, commit.

    Without it two first changes of an area would both insert its row, and one would fail.
    """
    lock_for(session, f"sampling-rate:{area.value}")


def _save_rate(session: Session, changed: SamplingRateChanged) -> None:
    """Store the area's new rate and publish the change."""
    area, rate = changed.service_area.value, changed.new_rate
    stored = session.get(SamplingRate, area) or SamplingRate(
        service_area=area, rate=rate, reason=changed.reason, changed_at=changed.changed_at
    )
    stored.rate, stored.reason = rate, changed.reason
    stored.changed_by, stored.changed_at = changed.changed_by, changed.changed_at
    session.add(stored)
    add_event(session, new_event(changed, source=SOURCE))
    after_commit(session, lambda: metrics.SAMPLE_RATE.labels(area).set(rate))


def _count_completion(moderation: Moderation) -> None:
    if moderation.outcome is None:
        return
    area, difference = moderation.service_area, moderation.outcome.grade_difference
    metrics.MODERATIONS_COMPLETED.labels(area).inc()
    metrics.GRADE_DIFFERENCE.observe(difference)
    if difference:
        metrics.DISAGREEMENTS.labels(area, "worse" if difference > 0 else "better").inc()
