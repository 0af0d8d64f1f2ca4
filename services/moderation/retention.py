"""How long the moderation service keeps moderations: the case-record period from moderating.

Open moderations have no `moderated_at`, so they never compare as old: only recorded ones go.
"""

from datetime import datetime

from sqlalchemy import Engine

from services.moderation.models import Moderation
from shared.retention import Expiry, days_ago, purge_expired
from shared.settings import ServiceSettings

MODERATIONS = Expiry(Moderation.id, Moderation.moderated_at)


def purge_moderations(engine: Engine, now: datetime, settings: ServiceSettings) -> tuple[str, int]:
    days = settings.case_record_retention_days
    return f"moderations recorded more than {days} days ago", purge_expired(
        engine, MODERATIONS, days_ago(now, days)
    )
