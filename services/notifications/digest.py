"""Daily digests: after the day's digest time, each person's held notifications go in one email.

Nothing is scanned on a timer: the digest worker gathers at the day's digest time (and once
more a minute later) and otherwise sleeps until then.
"""

import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from services.notifications import metrics
from services.notifications.context import DELIVERIES, NotifyContext
from services.notifications.messages import render_digest
from services.notifications.models import Notification
from services.notifications.routing import Kind, Status
from shared.calendar import UK, uk_day
from shared.db import transaction
from shared.events.vocabulary import NotificationChannel
from shared.wakeup import wake_after_commit

SETTLE = timedelta(minutes=1)
"""Digests are gathered again this long after the digest time: a notification held just before
it, whose transaction committed just after the first gathering, still goes in today's."""
BACKLOG_EVERY_SECONDS = 15.0


def digest_cutoff(now: datetime, send_at: time) -> datetime | None:
    """Today's digest time (UK) once it has come, else None: held items before it go out."""
    local = now.astimezone(UK)
    cutoff = datetime.combine(local.date(), send_at, tzinfo=UK)
    return None if local < cutoff else cutoff


def send_digests(engine: Engine, ctx: NotifyContext, send_at: time) -> int:
    """Gather each person's held notifications into one pending email; how many were made."""
    now = ctx.clock.now()
    cutoff = digest_cutoff(now, send_at)
    if cutoff is None:
        return 0
    with transaction(engine) as session:
        query = (
            select(Notification)
            .where(Notification.status == Status.HELD, col(Notification.created_at) < cutoff)
            .with_for_update(skip_locked=True)  # one replica per held item
        )
        by_person: dict[str, list[Notification]] = {}
        for notification in session.exec(query):
            by_person.setdefault(notification.recipient_id, []).append(notification)
        for person, items in by_person.items():
            _digest(session, ctx, person, items, now)
        return len(by_person)


def _gathering_times(day_of: datetime, send_at: time) -> tuple[datetime, datetime]:
    cutoff = datetime.combine(day_of.astimezone(UK).date(), send_at, tzinfo=UK)
    return cutoff, cutoff + SETTLE


def digest_due(last_gathered: datetime | None, now: datetime, send_at: time) -> bool:
    """Whether one of today's gathering times (the digest time, and SETTLE after it) has come
    since the last gathering (none yet: since the day began)."""
    return any(
        moment <= now and (last_gathered is None or last_gathered < moment)
        for moment in _gathering_times(now, send_at)
    )


def next_gathering(now: datetime, send_at: time) -> datetime:
    """The first gathering time after `now`: today's digest time, SETTLE after it, or
    tomorrow's digest time (in UK time, so across a clock change too)."""
    tomorrow = now.astimezone(UK) + timedelta(days=1)
    moments = (*_gathering_times(now, send_at), _gathering_times(tomorrow, send_at)[0])
    return min(moment for moment in moments if moment > now)


class DigestWorker:
    """Gathers the digests when they are due; its step says how long until next time."""

    def __init__(self, engine: Engine, ctx: NotifyContext, send_at: time) -> None:
        self._engine, self._ctx, self._send_at = engine, ctx, send_at
        self._last_gathered: datetime | None = None

    def step(self) -> float:
        """One pass; what it gathered goes out with the delivery worker."""
        now = self._ctx.clock.now()
        if digest_due(self._last_gathered, now, self._send_at):
            send_digests(self._engine, self._ctx, self._send_at)
            self._last_gathered = now
        return (next_gathering(now, self._send_at) - now).total_seconds()


def _digest(
    session: Session, ctx: NotifyContext, person: str, items: list[Notification], now: datetime
) -> None:
    day = uk_day(now)
    base = ctx.base_url.rstrip("/")
    rendered = render_digest(
        day, [(n.subject, n.link.removeprefix(base)) for n in items], ctx.base_url
    )
    digest = Notification(
        id=f"N-{uuid.uuid4().hex[:16]}",
        source_event_id=f"digest:{person}:{day}:{uuid.uuid4().hex[:8]}",
        event_type="digest",
        kind=Kind.INFORMATION,
        recipient_id=person,
        channel=NotificationChannel.EMAIL,
        case_id=items[0].case_id,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        link=base,
        status=Status.PENDING,
        event_time=now,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(digest)
    wake_after_commit(session, DELIVERIES)
    for item in items:
        item.status, item.digest_id = Status.DIGESTED, digest.id
        session.add(item)


def digest_backlog(engine: Engine) -> int:
    """How many information notifications wait for a digest."""
    with Session(engine) as session:
        query = (
            select(func.count()).select_from(Notification).where(Notification.status == Status.HELD)
        )
        return session.exec(query).one()


def measure_backlog(engine: Engine) -> bool:
    """One pass of the backlog gauge's worker (every BACKLOG_EVERY_SECONDS: one indexed count)."""
    metrics.DIGEST_BACKLOG.set(digest_backlog(engine))
    return False
