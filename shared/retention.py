"""`qa purge`: delete what is past its retention period from one service's database.

Run it where the service runs, with the service's environment (DATABASE_URL and the
*_RETENTION_DAYS settings), e.g. daily from cron or a Kubernetes CronJob.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from services.audit.settings import AuditSettings
from services.moderation.settings import ModerationSettings
from services.notifications.retention import purge_notifications
from services.notifications.settings import NotificationSettings
from services.scheduler.settings import SchedulerSettings
from shared.access_trail import purge_access_trail
from shared.db import create_db_engine
from shared.runtime import settings_or_exit
from shared.settings import ServiceSettings

SETTINGS: dict[str, type[ServiceSettings]] = {
    "audit": AuditSettings,
    "moderation": ModerationSettings,
    "scheduler": SchedulerSettings,
    "notifications": NotificationSettings,
}

Purge = Callable[[Engine, datetime, ServiceSettings], tuple[str, int]]


def _access_trail(engine: Engine, now: datetime, settings: ServiceSettings) -> tuple[str, int]:
    days = settings.access_trail_retention_days
    return f"access trail rows older than {days} days", purge_access_trail(engine, now, days)


def _notifications(engine: Engine, now: datetime, settings: ServiceSettings) -> tuple[str, int]:
    assert isinstance(settings, NotificationSettings)
    days = settings.notification_retention_days
    return f"settled notifications older than {days} days", purge_notifications(engine, now, days)


PURGES: dict[str, list[Purge]] = {
    "audit": [_access_trail],
    "moderation": [_access_trail],
    "scheduler": [_access_trail],
    "notifications": [_access_trail, _notifications],
}


class RetentionError(RuntimeError):
    """The service's database is not there or not migrated; the message says which."""


def purge(service: str, now: datetime | None = None) -> list[tuple[str, int]]:
    """Run every purge of `service` against its database; what went, and how many."""
    settings = settings_or_exit(SETTINGS[service])
    url = make_url(settings.resolved_database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        # Connecting would create an empty file and purge nothing: say where we looked instead.
        raise RetentionError(f"no {service} database at {shown} (set DATABASE_URL or DATA_DIR)")
    engine = create_db_engine(settings.resolved_database_url)
    try:
        when = now or datetime.now(UTC)
        return [step(engine, when, settings) for step in PURGES[service]]
    except (OperationalError, ProgrammingError) as exc:
        raise RetentionError(
            f"{shown} is not a migrated {service} database (start the service once): "
            f"{type(exc.orig).__name__}"
        ) from exc
    finally:
        engine.dispose()
