"""Time as a dependency, so tests can set it instead of waiting for it."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


class OffsetClock:
    """The system's time moved on by the number of seconds a file holds (none: not moved).

    Only for the end-to-end tests, which move every service's clock at once by writing one
    file, so that reminders, escalations and retries fire without anyone sleeping for days.
    Production refuses the setting that makes a service use it (CLOCK_OFFSET_FILE).
    """

    def __init__(self, offset_file: Path) -> None:
        self.offset_file = offset_file

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset_seconds())

    def _offset_seconds(self) -> float:
        try:
            text = self.offset_file.read_text().strip()
        except FileNotFoundError:
            return 0.0
        return float(text) if text else 0.0

    def move_on(self, by: timedelta) -> None:
        """Move every clock that reads this file on by `by` (what a test calls)."""
        total = self._offset_seconds() + by.total_seconds()
        partial = self.offset_file.with_suffix(".partial")
        partial.write_text(repr(total))
        partial.replace(self.offset_file)  # readers see the old offset or the new, never half


def clock_for(offset_file: Path | None) -> Clock:
    """The clock a process runs on: the system's, or the tests' movable one."""
    return SystemClock() if offset_file is None else OffsetClock(offset_file)
