"""How the history figures are taken: the median of a few calls after a warm-up, the /stats
routes asked for as the dashboards ask, and a process's peak resident memory."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from shared.errors import NO_ROUTE

REPEATS = 5
"""Calls timed after the warm-up, unless they take longer than TIME_BUDGET_SECONDS."""
MINIMUM_REPEATS = 3
TIME_BUDGET_SECONDS = 20.0
"""A route that takes seconds a call (the baseline at a million audits) is timed fewer times:
MINIMUM_REPEATS calls still give a median."""
MONTHS = 12


def median_ms(call: Callable[[], object], warm_up: bool = True) -> float:
    """The median duration of `call` in milliseconds: one warm-up call (connections, caches,
    the first plan; unless the caller made it), then REPEATS calls, or MINIMUM_REPEATS once
    TIME_BUDGET_SECONDS is spent."""
    if warm_up:
        call()
    durations: list[float] = []
    started = time.monotonic()
    while len(durations) < REPEATS:
        begin = time.perf_counter()
        call()
        durations.append((time.perf_counter() - begin) * 1000)
        if len(durations) >= MINIMUM_REPEATS and time.monotonic() - started > TIME_BUDGET_SECONDS:
            break
    return statistics.median(durations)


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM, the process's peak resident memory, in MiB (None once it has gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def months_back(today: date, months: int = MONTHS) -> tuple[str, str]:
    """`YYYY-MM` of the month `months` - 1 before today's, and of today's: the dashboards' span."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}", f"{today:%Y-%m}"


@dataclass(frozen=True)
class StatsRoute:
    """One figure's route: which service, which path, the query the dashboards send."""

    figure: str
    service: str
    path: str
    params: dict[str, str]


def stats_routes(today: date) -> list[StatsRoute]:
    """Every /stats route the history figures time, over 12 months up to today's (the month's
    figures for this month), as the dashboards and the board pack ask for them."""
    first, last = months_back(today)
    span = {"from_month": first, "to_month": last}
    this_month = {"month": last}
    return [
        StatsRoute("stats_grades_ms", "audit", "/stats/grades", span),
        StatsRoute("stats_monthly_ms", "audit", "/stats/monthly", span | {"by": "service_area"}),
        StatsRoute("stats_target_ms", "audit", "/stats/target", this_month),
        StatsRoute("stats_programme_ms", "audit", "/stats/programme", this_month),
        StatsRoute("stats_consistency_ms", "moderation", "/stats/consistency", span),
        StatsRoute("stats_timeliness_ms", "scheduler", "/stats/timeliness", span),
        StatsRoute("stats_actions_ms", "scheduler", "/stats/actions", span),
    ]


def route_absent(status: int, body: object) -> bool:
    """The answer for a path with no route (a route's own 404 names what is missing): FastAPI's
    own in the baseline, our problem document (shared.errors) since."""
    return status == 404 and (
        body == {"detail": "Not Found"}
        or (isinstance(body, dict) and body.get("detail") == NO_ROUTE)
    )
