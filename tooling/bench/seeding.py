"""Seed the audit, moderation and scheduler databases with N audits of history, set-based.

`seed_history` fills freshly migrated databases (shared.migrations) with what N audits leave
behind in each service (tooling/bench/history_sql.py says what and in what shapes), in SQL
alone: INSERT ... SELECT over generate_series, so a million audits take seconds, not the hours
the APIs would. Each database computes the same audits from the audit's number, so the three
are seeded at once, each on its own connection. The secondary indexes the migrations made are
dropped first and built again after the rows are in (a sorted build is many times faster than
a million inserts into ten indexes), then each table is vacuumed and analysed, as a database
that has lived with its history would be. Only pseudonymous case references (`CASE-B...`) and
the demo organisation's staff ids are written.
"""

import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import func, select

from services.audit.month_counts import GRADES, THEMES, recount
from shared.calendar import uk_day
from shared.db import create_db_engine
from shared.organisation import Organisation, Role, load_organisation
from tooling.bench import history_sql

SEEDED_SERVICES = ("audit", "moderation", "scheduler")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class TeamRow:
    """A team of the organisation as the seeding SQL picks from it (`bench_teams`)."""

    idx: int
    team_id: str
    service_area: str
    area: str
    team_manager: str
    head_of_service: str
    assistant_director: str
    practitioners: tuple[str, ...]
    auditors: tuple[str, ...]


def team_rows(organisation: Organisation) -> list[TeamRow]:
    """Each team with its practitioners and who may audit its cases: trained auditors of its
    service area other than its own manager (tooling.demo's rule), else any trained auditor."""
    rows = []
    for idx, team in enumerate(organisation.teams, start=1):
        leads = organisation.leads_of(team.service_area)
        in_area = {t.id for t in organisation.teams if t.service_area == team.service_area}
        practitioners = tuple(
            m.id for m in organisation.staff if m.team == team.id and m.role == Role.PRACTITIONER
        ) or (team.team_manager,)
        others = [m for m in organisation.staff if m.can_audit and m.id != team.team_manager]
        near = [m.id for m in others if m.team in in_area or m.id == leads.head_of_service]
        rows.append(
            TeamRow(
                idx,
                team.id,
                team.service_area,
                team.area,
                team.team_manager,
                leads.head_of_service,
                leads.assistant_director,
                practitioners,
                tuple(near or [m.id for m in others]),
            )
        )
    return rows


def history_parameters(n: int, now: datetime, organisation: Organisation) -> dict[str, Any]:
    """The bind parameters of history_sql's statements for N audits as of `now`."""
    per_month = n / history_sql.MONTHS_BACK
    return {
        "n": n,
        "now": now,
        "today": uk_day(now),
        "teams": len(organisation.teams),
        # Three audits in four are of a case not audited before.
        "cases": max(1, math.ceil(n * 0.75)),
        "moderators": sorted(m.id for m in organisation.moderators()),
        # Programme audits are about 0.88 * 0.6 of a month's; a few in twenty were declined
        # or exempted, and this month's not yet submitted are about half a month's.
        "extra_past": max(1, math.ceil(per_month * 0.03)),
        "extra_open": max(5, math.ceil(per_month * 0.25)),
    }


def seed_history(
    urls: Mapping[str, str], n: int, now: datetime, progress: Progress
) -> dict[str, dict[str, int]]:
    """Fill each service's (migrated, empty) database in `urls` with N audits' history; returns
    the rows written per service and table."""
    organisation = load_organisation()
    params = history_parameters(n, now, organisation)
    teams = team_rows(organisation)
    progress(f"seeding {n} audits of history into the audit, moderation and scheduler databases")
    started = time.monotonic()
    with ThreadPoolExecutor(len(SEEDED_SERVICES)) as pool:
        futures = {
            service: pool.submit(seed_service, service, urls[service], params, teams)
            for service in SEEDED_SERVICES
        }
        counts = {service: future.result() for service, future in futures.items()}
    for service, tables in counts.items():
        written = ", ".join(f"{rows} {table}" for table, rows in tables.items())
        progress(f"  {service}: {written}")
    progress(f"  seeded in {time.monotonic() - started:.1f} s")
    return counts


def seed_service(
    service: str, url: str, params: Mapping[str, Any], teams: list[TeamRow]
) -> dict[str, int]:
    """One service's database: its temporary tables, then its own tables, indexes after."""
    with psycopg.connect(
        libpq_url(url), autocommit=True, cursor_factory=psycopg.ClientCursor
    ) as connection:
        for setting in SESSION_SETTINGS:
            connection.execute(setting)
        _team_table(connection, teams)
        for statement in history_sql.TEMPORARY[service]:
            connection.execute(statement, params)
        tables = history_sql.TABLES[service]
        rebuild = _drop_secondary_indexes(connection, tables)
        counts = {}
        for what, statement in history_sql.STEPS[service]:
            counts[what] = connection.execute(statement, params).rowcount
        for definition in rebuild:
            connection.execute(definition)
        derived = DERIVED[service](url) if service in DERIVED else {}
        counts.update(derived)
        for table in (*tables, *derived):
            connection.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    return counts


def _count_months(url: str) -> dict[str, int]:
    """The audit service's monthly counts of the seeded audits (services.audit.month_counts),
    counted from the rows as migration 0009 does; the rows written per table."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            recount(connection)
            return {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (GRADES, THEMES)
            }
    finally:
        engine.dispose()


DERIVED: dict[str, Callable[[str], dict[str, int]]] = {"audit": _count_months}
"""What a service keeps from its seeded tables as it records, made once from their rows."""


SESSION_SETTINGS = (
    # A benchmark's scratch data: a crash loses nothing worth keeping.
    "SET synchronous_commit = off",
    # Before the first temporary table: a million audits stay in memory.
    "SET temp_buffers = '512MB'",
    "SET work_mem = '64MB'",
    "SET maintenance_work_mem = '256MB'",
)


def _team_table(connection: psycopg.Connection[Any], teams: list[TeamRow]) -> None:
    connection.execute(
        "CREATE TEMP TABLE bench_teams (idx int PRIMARY KEY, team_id text, service_area text,"
        " area text, team_manager text, head_of_service text, assistant_director text,"
        " practitioners text[], auditors text[])"
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_teams VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    t.idx,
                    t.team_id,
                    t.service_area,
                    t.area,
                    t.team_manager,
                    t.head_of_service,
                    t.assistant_director,
                    list(t.practitioners),
                    list(t.auditors),
                )
                for t in teams
            ],
        )


UNIQUE_KEYS = """
SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid) FROM pg_constraint c
WHERE c.contype = 'u' AND c.conrelid = ANY(%(tables)s::regclass[])
"""
"""The unique keys of `tables` (primary keys stay: their rows go in in key order)."""
SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = 'public' AND i.tablename = ANY(%(tables)s)
    AND NOT EXISTS (
        SELECT 1 FROM pg_constraint c
        WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass
    )
"""
"""The indexes of `tables` that back no constraint: whatever the migrations made, the newest
included."""


def _drop_secondary_indexes(
    connection: psycopg.Connection[Any], tables: tuple[str, ...]
) -> list[sql.SQL | sql.Composed]:
    """Drop the unique keys and secondary indexes of `tables`; returns the statements that make
    them again, from the catalog's own definitions. Nothing else writes to these databases
    while they are seeded, and the keys are checked again when they are added back."""
    names = {"tables": list(tables)}
    keys = connection.execute(UNIQUE_KEYS, names).fetchall()
    indexes = connection.execute(SECONDARY_INDEXES, names).fetchall()
    for name, table, _definition in keys:
        connection.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
    for name, _definition in indexes:
        connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return [
        *(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
            )
            for name, table, definition in keys
        ),
        *(sql.SQL(definition) for _name, definition in indexes),
    ]


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://) as libpq takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
