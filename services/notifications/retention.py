"""How long notifications are kept: settled ones older than the retention period are deleted.

Only settled notifications go (delivered, failed, or folded into a digest); anything still
pending or held for a digest stays, however old, so purging never loses a message in flight.
"""

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import col

from services.notifications.models import Notification
from services.notifications.routing import Status
from shared.db import transaction

SETTLED = (Status.DELIVERED, Status.FAILED, Status.DIGESTED)


def purge_notifications(engine: Engine, now: datetime, keep_days: int) -> int:
    cutoff = now - timedelta(days=keep_days)
    with transaction(engine) as session:
        result = session.execute(
            delete(Notification).where(
                col(Notification.created_at) < cutoff, col(Notification.status).in_(SETTLED)
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
