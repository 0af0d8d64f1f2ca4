"""How long records are kept, and the one way `qa purge` deletes what is past that.

Every table has a policy (README, "Retention"): case records (audits, moderations, follow-ups and
what services learn of them) go a number of years after they were settled; messaging records
(sent outbox rows, processed-event ids) go after days, once Kafka no longer holds the events they
stand for. Nothing unsettled ever goes, however old: an open moderation or follow-up, an event
not yet published.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import ColumnElement, Engine, delete, select
from sqlmodel import col

from shared.db import transaction
from shared.events.topics import DEAD_LETTER_SUFFIX
from shared.inbox import ProcessedEvent
from shared.outbox import OutboxMessage
from shared.settings import ServiceSettings


class TopicRetention(BaseSettings):
    """How long Kafka keeps messages (`retention.ms`), set where the topics are made.

    Events need keeping only until every consumer has them (two weeks covers an outage over a
    bank holiday); dead letters until someone has looked (four weeks). Processed-event ids must
    outlive both, or an event still on a topic could be applied twice.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    event_topic_retention_days: int = Field(default=14, ge=1)
    dead_letter_retention_days: int = Field(default=28, ge=1)

    def retention_ms(self, topic: str) -> int:
        dead_letters = topic.endswith(DEAD_LETTER_SUFFIX)
        days = self.dead_letter_retention_days if dead_letters else self.event_topic_retention_days
        return days * 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Expiry:
    """Which rows of a table are past retention: `when` before the cutoff, and `settled`.

    `dependents` are other tables' columns holding this table's `key`: their rows go with it.
    """

    key: Any
    when: Any
    settled: Sequence[ColumnElement[bool]] = ()
    dependents: Sequence[Any] = ()


def purge_expired(engine: Engine, expiry: Expiry, cutoff: datetime) -> int:
    """Delete the rows `expiry` says are past `cutoff`, with their dependents; how many went."""
    expired = (col(expiry.when) < cutoff, *expiry.settled)
    with transaction(engine) as session:
        keys = select(expiry.key).where(*expired)
        for dependent in expiry.dependents:
            session.execute(delete(dependent.class_).where(col(dependent).in_(keys)))
        result = session.execute(delete(expiry.key.class_).where(*expired))
        return int(result.rowcount)  # type: ignore[attr-defined]


def days_ago(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


SENT_EVENTS = Expiry(OutboxMessage.id, OutboxMessage.published_at)
"""Unpublished rows have no `published_at`, so they never compare as old."""
PROCESSED_EVENTS = Expiry(ProcessedEvent.consumer, ProcessedEvent.processed_at)


def purge_sent_events(engine: Engine, now: datetime, settings: ServiceSettings) -> tuple[str, int]:
    days = settings.sent_event_retention_days
    gone = purge_expired(engine, SENT_EVENTS, days_ago(now, days))
    return f"outbox rows published more than {days} days ago", gone


def purge_processed_events(
    engine: Engine, now: datetime, settings: ServiceSettings
) -> tuple[str, int]:
    days = settings.processed_event_retention_days
    gone = purge_expired(engine, PROCESSED_EVENTS, days_ago(now, days))
    return f"processed-event ids older than {days} days", gone


MESSAGING_PURGES = (purge_sent_events, purge_processed_events)
"""What every service that publishes and consumes purges, beside its own records."""
