"""What history costs: the gauges, the due-timer scan and each /stats route at N audits.

For each size N: fresh audit, moderation and scheduler databases on the stack's PostgreSQL,
migrated by the services' own migrations and seeded with N audits of history
(tooling.bench.seeding); then, with nothing else running on them, the scheduler's and the
moderation service's gauge refreshes and one due-timer pass (nothing due, every fired timer
kept) timed in this process; then the three services started as their own processes on those
databases, each /stats route timed over HTTP as the QA lead (who sees every area), and each
process's peak resident memory read after the calls. The databases are dropped afterwards.

Whatever the code under test lacks (a route, a function) is skipped with a progress line,
never given a made-up figure, so the same benchmark runs on the tree before issue 19 too.
"""

import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from shared.auth import LocalIssuer
from shared.calendar import uk_day
from shared.migrations import upgrade
from tooling.bench.figures import Figure
from tooling.bench.history_measure import median_ms, peak_rss_mib, route_absent, stats_routes
from tooling.bench.seeding import SEEDED_SERVICES, libpq_url, seed_history
from tooling.localstack.postgres import create_database
from tooling.localstack.services import ServiceProcess
from tooling.localstack.stack import StackInfo

Progress = Callable[[str], None]
VIEWER = "S0004"
"""The demo organisation's QA lead: reads every audit and its records (shared.visibility)."""
SERVICE_ENVIRONMENT = {"AUDIT_PROGRAMME_DRAW_DAY": "0"}
"""No programme drawn on start: the figures are of the seeded history alone."""
HTTP_TIMEOUT_SECONDS = 600.0


def history_figures(
    stack: StackInfo, logs: Path, sizes: list[int], progress: Progress
) -> Iterator[Figure]:
    """The history figures at each size, in order; `logs` receives the services' logs."""
    if not stack.database_urls:
        progress("history figures skipped: they need PostgreSQL (qa run --postgres's stack)")
        return
    for n in sizes:
        yield from _figures_at(stack, logs, n, progress)


def _figures_at(stack: StackInfo, logs: Path, n: int, progress: Progress) -> Iterator[Figure]:
    with _fresh_databases(stack, n, progress) as urls:
        seed_history(urls, n, datetime.now(UTC), progress)
        yield from _in_process_figures(urls, n, progress)
        yield from _service_figures(stack, urls, logs / f"history-{n}", n, progress)


@contextmanager
def _fresh_databases(stack: StackInfo, n: int, progress: Progress) -> Iterator[dict[str, str]]:
    """A new database per seeded service, migrated to the newest revision; dropped after."""
    # Any of the stack's databases reaches the server as its owner: the new ones sit beside.
    server = next(iter(stack.database_urls.values()))
    run = secrets.token_hex(3)
    names = {service: f"bench_history_{run}_{n}_{service}" for service in SEEDED_SERVICES}
    progress(f"history @{n}: creating and migrating {', '.join(names.values())}")
    urls = {service: create_database(server, name) for service, name in names.items()}
    try:
        alembic = logging.getLogger("alembic")
        level = alembic.level
        alembic.setLevel(logging.WARNING)  # one progress line, not one per revision
        try:
            for service, url in urls.items():
                upgrade(service, url)
        finally:
            alembic.setLevel(level)
        yield urls
    finally:
        _drop_databases(server, list(names.values()))


def _drop_databases(server: str, names: list[str]) -> None:
    with psycopg.connect(libpq_url(server), autocommit=True) as connection:
        for name in names:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            connection.execute(drop)


# --- in this process: the gauges and the due-timer scan -------------------------------------


def _in_process_figures(urls: Mapping[str, str], n: int, progress: Progress) -> Iterator[Figure]:
    from shared.db import create_db_engine

    scheduler = create_db_engine(urls["scheduler"])
    moderation = create_db_engine(urls["moderation"])
    # Each builds its call from the code under test, which may not have it.
    builders: list[tuple[str, Callable[[], Callable[[], object] | None]]] = [
        ("scheduler_gauges_ms", lambda: _scheduler_gauges(scheduler)),
        ("moderation_gauges_ms", lambda: _moderation_gauges(moderation)),
        ("due_timer_scan_ms", lambda: _due_timer_scan(scheduler, urls["scheduler"])),
    ]
    try:
        for name, build in builders:
            try:
                call = build()
            except (ImportError, AttributeError, TypeError) as missing:
                progress(f"{name}@{n} skipped: {missing}")
                continue
            if call is None:
                progress(f"{name}@{n} skipped: the scheduler has timers due (see above)")
                continue
            yield Figure(f"{name}@{n}", median_ms(call), "ms")
    finally:
        scheduler.dispose()
        moderation.dispose()


def _scheduler_gauges(engine: Any) -> Callable[[], object]:
    from services.scheduler.queries import refresh_gauges
    from shared.clock import SystemClock

    clock = SystemClock()
    return lambda: refresh_gauges(engine, clock)


def _moderation_gauges(engine: Any) -> Callable[[], object]:
    from services.moderation.metrics import refresh_consistency_gauges

    return lambda: refresh_consistency_gauges(engine)


def _due_timer_scan(engine: Any, url: str) -> Callable[[], object] | None:
    """One timer pass as services/scheduler/app.py builds it; None if anything is due (the
    pass would fire it: the figure is of the scan over history alone)."""
    from services.scheduler.decisions import Rules
    from services.scheduler.settings import SchedulerSettings
    from services.scheduler.store import SchedulerContext
    from services.scheduler.timers import TimerService
    from shared.calendar import WorkingDayCalendar
    from shared.clock import SystemClock
    from shared.organisation import load_organisation

    with psycopg.connect(libpq_url(url)) as connection:
        due = connection.execute(
            "SELECT count(*) FROM timers WHERE fired_at IS NULL AND NOT cancelled"
            " AND fire_at <= now()"
        ).fetchone()
    if due is None or due[0]:
        return None
    # The settings' defaults, as a scheduler started on the stack has them (no environment
    # of its own is needed for them: the auth settings a full SchedulerSettings checks are not).
    defaults = {name: field.default for name, field in SchedulerSettings.model_fields.items()}
    rules = Rules(
        organisation=load_organisation(defaults["organisation_file"]),
        calendar=WorkingDayCalendar(),
        overdue_every=defaults["overdue_repeat_working_days"],
        starts_at_hour=defaults["working_day_starts_at"],
    )
    ctx = SchedulerContext(rules, SystemClock())
    return TimerService(engine, ctx, defaults["timer_batch_size"]).step


# --- over HTTP: the /stats routes and each process's memory ---------------------------------


def _service_figures(
    stack: StackInfo, urls: Mapping[str, str], logs: Path, n: int, progress: Progress
) -> Iterator[Figure]:
    if stack.jwks_file is None:
        progress(f"/stats figures @{n} skipped: the stack has no local token issuer")
        return
    token = LocalIssuer(Path(stack.jwks_file).parent).mint(VIEWER)
    seeded = replace(stack, database_urls={**stack.database_urls, **urls})
    processes = {service: ServiceProcess(service, logs) for service in SEEDED_SERVICES}
    try:
        progress(f"history @{n}: starting the {', '.join(processes)} services on them")
        for process in processes.values():
            process.start(seeded, SERVICE_ENVIRONMENT)
        with httpx.Client(
            headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT_SECONDS
        ) as client:
            for route in stats_routes(uk_day(datetime.now(UTC))):
                url = f"{processes[route.service].url}{route.path}"
                figure = _route_figure(client, url, route.params, f"{route.figure}@{n}", progress)
                if figure is not None:
                    yield figure
        for service, process in processes.items():
            if process.process is not None and (mib := peak_rss_mib(process.process.pid)):
                yield Figure(f"{service}_rss_mib@{n}", mib, "MiB")
    finally:
        for process in processes.values():
            process.stop()


def _route_figure(
    client: httpx.Client, url: str, params: dict[str, str], name: str, progress: Progress
) -> Figure | None:
    """The route's median time, or None (with a progress line) if it is absent or fails."""
    try:
        first = client.get(url, params=params)
    except httpx.HTTPError as error:
        progress(f"{name} skipped: {type(error).__name__}")
        return None
    if first.status_code != 200:
        absent = route_absent(first.status_code, _json(first))
        progress(f"{name} skipped: {'no such route' if absent else f'HTTP {first.status_code}'}")
        return None

    def call() -> None:
        client.get(url, params=params).raise_for_status()

    try:
        return Figure(name, median_ms(call, warm_up=False), "ms")  # the first call warmed up
    except httpx.HTTPError as error:
        progress(f"{name} skipped: {type(error).__name__}")
        return None


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None
