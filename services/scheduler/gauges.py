"""When the follow-up gauges are counted again: after a change, at a new day, or now and then.

The gauges (services/scheduler/queries.py `refresh_gauges`) are one aggregate over every
follow-up, so counting them every few seconds whatever happened kept an idle scheduler busy as
history grew. They now count again only when their answer may have moved:

- a transaction changed a follow-up: `followups_changed` notes it once the transaction commits
  (never on a rollback), and the worker's next check sees the count of changes moved;
- the UK day turned: "overdue" and "decided" compare due dates with today, so the answer moves
  with time only when the day does (the clock may be moved by tests: the day is the clock's);
- a slow safety refresh, for changes this process cannot see: another replica's, a purge run
  from another process.

The decision is `refresh_due`, pure; `GaugeWorker` is the background step that applies it.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from shared.calendar import uk_day
from shared.clock import Clock
from shared.db import after_commit

CHECK_SECONDS = 15.0
"""How often the worker checks whether the gauges need counting again (no database work)."""

SAFETY_REFRESH_SECONDS = 60.0
"""The longest the gauges go uncounted: the bound on changes this process cannot see."""


class Changes:
    """A count of committed changes to follow-ups in this process (thread-safe: commits happen
    in worker threads). A count, not a flag, so a change committed while the gauges are being
    counted is not lost: the count seen before counting no longer matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def note(self) -> None:
        with self._lock:
            self._count += 1

    def count(self) -> int:
        with self._lock:
            return self._count


CHANGES = Changes()
"""The process's count: the gauges are the process's too (Prometheus registry)."""


def followups_changed(session: Session) -> None:
    """Note, once `session` commits, that follow-ups changed and the gauges may have moved."""
    after_commit(session, CHANGES.note, key="followup-gauges")


@dataclass(frozen=True)
class Counted:
    """What the gauges were last counted for."""

    changes: int
    """The change count seen just before counting."""
    day: date
    """The UK day "overdue" was counted for."""
    at: float
    """When, in `time.monotonic` seconds (real time, whatever the clock says)."""


def refresh_due(
    last: Counted | None, changes: int, day: date, at: float, safety_seconds: float
) -> bool:
    """Whether to count the gauges again: never counted, a change since, a new day, or the
    safety period passed."""
    return (
        last is None or changes != last.changes or day != last.day or at - last.at >= safety_seconds
    )


class GaugeWorker:
    """The gauges' background step: count them again when `refresh_due` says so."""

    def __init__(
        self,
        refresh: Callable[[], None],
        clock: Clock,
        safety_seconds: float = SAFETY_REFRESH_SECONDS,
    ) -> None:
        self._refresh = refresh
        self._clock = clock
        self._safety_seconds = safety_seconds
        self._last: Counted | None = None

    def step(self) -> bool:
        """One check; False: nothing waits, the next check is one period away."""
        seen = Counted(CHANGES.count(), uk_day(self._clock.now()), time.monotonic())
        if refresh_due(self._last, seen.changes, seen.day, seen.at, self._safety_seconds):
            self._refresh()
            self._last = seen
        return False
