"""How long notifications are kept: settled ones older than the retention period are deleted.

Only settled notifications go (delivered, failed, or folded into a digest); anything still
pending or held for a digest stays, however old, so purging never loses a message in flight.
"""

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import col

from services.notifications.models import Notification
from services.notifications.routing import Status
from shared.retention import Expiry, days_ago, purge_expired

SETTLED = (Status.DELIVERED, Status.FAILED, Status.DIGESTED)
NOTIFICATIONS = Expiry(
    Notification.id, Notification.created_at, settled=(col(Notification.status).in_(SETTLED),)
)


def purge_notifications(engine: Engine, now: datetime, keep_days: int) -> int:
    return purge_expired(engine, NOTIFICATIONS, days_ago(now, keep_days))
