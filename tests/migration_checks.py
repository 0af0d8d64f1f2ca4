"""What a migrated database must look like, checked on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, Table
from sqlalchemy.engine import Engine

from services.audit.models import Audit, RegisteredCase, SubmissionKey
from services.moderation.models import Moderation, SamplingRate
from services.notifications.models import AuditPeopleRow, Notification, ParkedEvent, Preference
from services.scheduler.models import AuditFact, FollowUp, ModerationFact, TimelineEntry, Timer
from shared.access_trail import AccessRecord
from shared.inbox import ProcessedEvent
from shared.outbox import OutboxMessage


def service_tables(service: str) -> list[Table]:
    """The tables a service's models define: the shared messaging ones plus its own."""
    own = {
        "audit": [Audit.__table__, SubmissionKey.__table__, RegisteredCase.__table__],
        "moderation": [Moderation.__table__, SamplingRate.__table__],
        "scheduler": [
            FollowUp.__table__,
            TimelineEntry.__table__,
            Timer.__table__,
            AuditFact.__table__,
            ModerationFact.__table__,
        ],
        "notifications": [
            Notification.__table__,
            Preference.__table__,
            AuditPeopleRow.__table__,
            ParkedEvent.__table__,
        ],
    }
    return [
        OutboxMessage.__table__,
        ProcessedEvent.__table__,
        AccessRecord.__table__,
        *own[service],
    ]


def drift_from_models(engine: Engine, service: str) -> list[object]:
    """Differences between the migrated schema and the service's models (none expected)."""
    models = MetaData()
    for table in service_tables(service):
        table.to_metadata(models)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), models)
    return [change for change in diff if change[0] != "remove_table"]
