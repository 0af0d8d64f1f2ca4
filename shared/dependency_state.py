"""Whether the broker and the database are there, as every part of a service finds out.

The relay, the consumers, the lag sampler, the workers and the probe (ServiceRuntime.running,
and every /ready) report what they see into one `Dependency` each. It logs the dependency going
away once, then again at a falling rate while it stays away (`reminders_due`: after 10 s, 30 s,
1, 2 and 5 minutes, then every 5 minutes), and once when it is back, with how long it was away;
`qa_dependency_up` and /ready carry the same state. So an outage costs a handful of log lines,
not one per failed call, and the first line says what went away and the error that showed it.
"""

import logging
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiokafka import errors as kafka_errors
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.metrics import DEPENDENCY_UP

log = logging.getLogger(__name__)

REMINDERS = (10.0, 30.0, 60.0, 120.0, 300.0)
"""Seconds into a failure at which it is told again; after the last, every `REMINDER_EVERY`."""
REMINDER_EVERY = 300.0

Clock = Callable[[], float]


def reminders_due(elapsed: float) -> int:
    """How many reminders of a failure that began `elapsed` seconds ago are due by now."""
    due = bisect_right(REMINDERS, elapsed)
    if elapsed >= REMINDERS[-1]:
        due += int((elapsed - REMINDERS[-1]) // REMINDER_EVERY)
    return due


@dataclass
class Run:
    """A failure going on since `since` (clock seconds), and how many reminders were told."""

    since: float
    reminded: int = 0

    def reminder_due(self, now: float) -> bool:
        """Whether a reminder falls due at `now`; counts it as told if so."""
        due = reminders_due(now - self.since)
        if due <= self.reminded:
            return False
        self.reminded = due
        return True


class Unavailable(Exception):
    """A failure that an adapter knows is its dependency's absence (a publish that timed out)."""

    def __init__(self, dependency: str, why: str) -> None:
        super().__init__(f"{dependency} unavailable: {why}")
        self.dependency = dependency


class Dependency:
    """One dependency's state: up, or away since when, as last reported; logged on changes."""

    def __init__(self, name: str, clock: Clock = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._outage: Run | None = None
        self._error = ""
        self._lock = threading.Lock()  # reports come from worker threads as well as the loop

    @property
    def up(self) -> bool:
        return self._outage is None

    def failed(self, error: BaseException | str) -> None:
        """Something that needs the dependency failed because it is away."""
        kind = error if isinstance(error, str) else type(error).__name__
        now = self._clock()
        with self._lock:
            self._error = kind
            if self._outage is None:
                self._outage = Run(now)
                DEPENDENCY_UP.labels(self.name).set(0)
                told = "%s unavailable"
            elif self._outage.reminder_due(now):
                told = "%s still unavailable"
            else:
                return
            away = now - self._outage.since
        log.error(told, self.name, extra=self._fields(error=kind, seconds_away=round(away)))

    def succeeded(self) -> None:
        """Something that needs the dependency just worked."""
        now = self._clock()
        with self._lock:
            outage, self._outage = self._outage, None
            DEPENDENCY_UP.labels(self.name).set(1)
        if outage is not None:
            away = round(now - outage.since, 1)
            log.warning("%s available again", self.name, extra=self._fields(seconds_away=away))

    def state(self) -> dict[str, Any]:
        """What /ready says of it: up, or since how many seconds away and the last error."""
        outage = self._outage
        if outage is None:
            return {"up": True}
        away = round(self._clock() - outage.since, 1)
        return {"up": False, "seconds_away": away, "error": self._error}

    def _fields(self, **more: object) -> dict[str, object]:
        return {"dependency": self.name, **more}


BROKER = Dependency("broker")
DATABASE = Dependency("database")
DEPENDENCIES = {dependency.name: dependency for dependency in (BROKER, DATABASE)}
"""Per process, like the metrics registry: each service runs in a process of its own."""

_BROKER_AWAY = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.NoBrokersAvailable,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.KafkaUnavailableError,
    kafka_errors.BrokerNotAvailableError,
    kafka_errors.LeaderNotAvailableError,
)


def blame(error: BaseException) -> Dependency | None:
    """The dependency whose absence `error` (or what caused it) shows; None if it shows none."""
    for cause in _causes(error):
        if isinstance(cause, Unavailable):
            return DEPENDENCIES.get(cause.dependency)
        if isinstance(cause, OperationalError) or (
            isinstance(cause, DBAPIError) and cause.connection_invalidated
        ):
            return DATABASE
        if isinstance(cause, _BROKER_AWAY):
            return BROKER
    return None


def publish_blame(error: BaseException) -> Dependency | None:
    """`blame` for a failed publish, where a lost connection or a timeout is the broker's."""
    if isinstance(error, ConnectionError | TimeoutError):
        return blame(error) or BROKER
    return blame(error)


def report_failure(error: BaseException) -> bool:
    """Tell the dependency `error` blames that it is away; False when it blames none."""
    dependency = blame(error)
    if dependency is not None:
        dependency.failed(error)
    return dependency is not None


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
