"""`qa purge`: delete what is past its retention period from one service's database.

Run it where the service runs, with the service's environment (DATABASE_URL and the
*_RETENTION_DAYS settings), e.g. daily from cron or a Kubernetes CronJob.
"""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from services.catalogue import BY_NAME
from shared.db import create_db_engine
from shared.runtime import settings_or_exit


class RetentionError(RuntimeError):
    """The service's database is not there or not migrated; the message says which."""


def purge(service: str, now: datetime | None = None) -> list[tuple[str, int]]:
    """Run every purge of `service` against its database; what went, and how many."""
    declared = BY_NAME[service]
    settings = settings_or_exit(declared.settings)
    url = make_url(settings.resolved_database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        # Connecting would create an empty file and purge nothing: say where we looked instead.
        raise RetentionError(f"no {service} database at {shown} (set DATABASE_URL or DATA_DIR)")
    engine = create_db_engine(settings.resolved_database_url)
    try:
        when = now or datetime.now(UTC)
        return [step(engine, when, settings) for step in declared.all_purges]
    except (OperationalError, ProgrammingError) as exc:
        raise RetentionError(
            f"{shown} is not a migrated {service} database (start the service once): "
            f"{type(exc.orig).__name__}"
        ) from exc
    finally:
        engine.dispose()
