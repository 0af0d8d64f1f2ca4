"""Schema migrations with Alembic: one history per service, one env.py for all of them.

Every service's history starts from the shared revision that creates the messaging tables
(outbox, processed_events); a service's own revisions live in services/<name>/migrations and
chain from it. Each service has its own database, so each has its own alembic_version.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.db import normalise_url

SHARED_DIR = Path(__file__).resolve().parent
SERVICES_DIR = SHARED_DIR.parents[1] / "services"


def alembic_config(service: str, database_url: str) -> Config:
    own = SERVICES_DIR / service / "migrations"
    if not own.is_dir():
        raise ValueError(f"unknown service {service!r}: no migrations at {own}")
    config = Config()
    config.set_main_option("script_location", str(SHARED_DIR))
    config.set_main_option("version_locations", f"{SHARED_DIR / 'versions'} {own}")
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    config.attributes["service"] = service
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    """Bring `service`'s database up to `revision` (default: the newest)."""
    command.upgrade(alembic_config(service, database_url), revision)
