"""Two PostgreSQL roles per service database: the owner migrates and purges, the app runs.

The owner role (`<service>_owner`) owns the database and its tables: it runs the migrations
and `qa purge`. The service itself connects as the app role (`<service>_app`), which may read
and write the service's tables but only SELECT and INSERT the access trail: it cannot UPDATE,
DELETE or TRUNCATE it, and, not being the table's owner, cannot disable its trigger or drop
it. deploy/postgres/roles.sql creates the roles; after every migration the owner grants the
app role its privileges afresh, so a table a migration adds is covered at once:

    DATABASE_URL=<the owner's URL> DATABASE_APP_ROLE=audit_app \\
        python -m tooling.database_roles migrate audit
    python -m tooling.database_roles grants audit_app   # the same grants as SQL, for psql
"""

import argparse
import os
import re
import sys

from sqlalchemy import text

from services.catalogue import SERVICE_NAMES
from shared.access_trail import AccessRecord
from shared.db import create_db_engine
from shared.migrations import upgrade

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_APPEND_ONLY = AccessRecord.__tablename__


def app_grants(app_role: str) -> list[str]:
    """The statements that give `app_role` exactly the privileges the service needs."""
    if not _ROLE_NAME.fullmatch(app_role):
        raise ValueError(f"{app_role!r} is not a plain role name (a-z, 0-9, _)")
    return [
        f"GRANT USAGE ON SCHEMA public TO {app_role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_role}",
        # Migrations are the owner's: the service only reads which revision it is at.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {app_role}",
        # The trail is append-only for the service; only the owner's purge deletes from it.
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {_APPEND_ONLY} FROM {app_role}",
    ]


def migrate(service: str, owner_url: str, app_role: str) -> None:
    """Bring `service`'s database up to date as its owner, then grant the app role its share."""
    upgrade(service, owner_url)
    engine = create_db_engine(owner_url)
    try:
        with engine.begin() as connection:
            for statement in app_grants(app_role):
                connection.execute(text(statement))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.database_roles", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    migrating = commands.add_parser("migrate", help="migrate as the owner, then grant the app")
    migrating.add_argument("service", choices=SERVICE_NAMES)
    granting = commands.add_parser("grants", help="print the app role's grants as SQL")
    granting.add_argument("app_role")
    args = parser.parse_args(argv)
    if args.command == "grants":
        print(";\n".join(app_grants(args.app_role)) + ";")
        return 0
    missing = [name for name in ("DATABASE_URL", "DATABASE_APP_ROLE") if not os.environ.get(name)]
    if missing:
        print(f"error: set {' and '.join(missing)}", file=sys.stderr)
        return 2
    migrate(args.service, os.environ["DATABASE_URL"], os.environ["DATABASE_APP_ROLE"])
    print(f"{args.service}: migrated; {os.environ['DATABASE_APP_ROLE']} granted")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
