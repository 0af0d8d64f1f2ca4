"""When the follow-up gauges are counted again: after a change, at a new day, or now and then.

The gauges (services/scheduler/queries.py `refresh_gauges`) are one aggregate over every
follow-up, so counting them every few seconds whatever happened kept an idle scheduler busy as
history grew. They now count again only when their answer may have moved:

- a transaction changed follow-ups: `followups_changed` wakes the gauges' worker once it
  commits (shared.wakeup: here, and in the other replicas through PostgreSQL's NOTIFY);
- the UK day turned: "overdue" and "decided" compare due dates with today, so the answer moves
  with time only when the day does (`step` sleeps until then; the day is the clock's, which
  tests may move);
- a slow safety refresh, for a notification lost while a listener reconnects.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from shared.calendar import uk_day, uk_day_start
from shared.clock import Clock
from shared.wakeup import wake_after_commit

GAUGES_CHANNEL = "followup-gauges"
"""Woken when follow-ups change: the gauges count again."""

SAFETY_REFRESH_SECONDS = 60.0
"""The longest the gauges go uncounted without being woken."""


def followups_changed(session: Session) -> None:
    """Count the gauges again once `session` commits its change to follow-ups."""
    wake_after_commit(session, GAUGES_CHANNEL)


def seconds_to_next_uk_day(now: datetime) -> float:
    """How long until the UK day after `now`'s begins (23 or 25 hours on clock-change days)."""
    return (uk_day_start(uk_day(now) + timedelta(days=1)) - now).total_seconds()


def gauges_step(refresh: Callable[[], None], clock: Clock) -> float:
    """The gauges' background step: count them, then wait for a change or the next UK day."""
    refresh()
    return seconds_to_next_uk_day(clock.now())
