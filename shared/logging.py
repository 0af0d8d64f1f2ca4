"""Structured JSON logs with a correlation id, and nothing personal in them.

Log records carry ids (event, case reference, audit) only. As a second line of defence a
filter masks anything shaped like an email address before a record is written.

Every line a service writes is one of these: `configure_logging` runs before the app is built,
takes the console away from library loggers that brought their own (FastStream installs a
coloured one at import), and routes warnings and uncaught exceptions through the same handler.
Kafka client libraries repeat a connection error many times a second while the broker is away
(aiokafka: about 85 lines a second per service, of some eight kinds); `LibraryRepeats` lets the
first of each kind through and then one every `REPEAT_SECONDS` saying how many it held back,
while shared.dependency_state says what happened ("broker unavailable") and reminds of it.
A filter rather than a raised level: a library's first line of a new kind of trouble is still
seen, and nothing waits for the outage to be noticed before the noise stops.
"""

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_STANDARD_ATTRIBUTES = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


@contextmanager
def correlated(value: str | None) -> Iterator[None]:
    """Tag every log line written inside the block with `value` as correlation id."""
    token = correlation_id.set(value)
    try:
        yield
    finally:
        correlation_id.reset(token)


def redact(text: str) -> str:
    return _EMAIL.sub("[redacted-email]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, correlation id, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (current := correlation_id.get()) is not None:
            entry["correlation_id"] = current
        entry.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


LIBRARIES = ("aiokafka", "kafka", "faststream")
"""The loggers (and their children) whose repeated records `LibraryRepeats` thins out."""
REPEAT_SECONDS = 300.0
"""How often a repeated library record is let through again (the outage's own reminders, from
shared.dependency_state, come more often: a library's every kind would multiply them)."""
QUIET_SECONDS = 60.0
"""A kind of record not seen for this long starts afresh: its next one is let through."""


@dataclass
class _Repeats:
    let_through: float
    last_seen: float
    held_back: int = 0


class LibraryRepeats(logging.Filter):
    """Let a library's first record of each kind (logger, level, message template) through,
    then one every `REPEAT_SECONDS` while it repeats, saying how many were held back."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, libraries: tuple[str, ...] = LIBRARIES
    ):
        super().__init__()
        self._clock = clock
        self._libraries = libraries
        self._seen: dict[tuple[str, int, str], _Repeats] = {}
        self._lock = threading.Lock()  # handlers filter outside their own lock

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._libraries):
            return True
        with self._lock:
            return self._let_through(record, self._clock())

    def _let_through(self, record: logging.LogRecord, now: float) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        seen = self._seen.get(key)
        if seen is None or now - seen.last_seen > QUIET_SECONDS:
            self._forget_quiet(now)
            self._seen[key] = _Repeats(now, now)
            return True
        seen.last_seen = now
        if now - seen.let_through < REPEAT_SECONDS:
            seen.held_back += 1
            return False
        record.repeats_held_back = seen.held_back
        seen.let_through, seen.held_back = now, 0
        return True

    def _forget_quiet(self, now: float) -> None:
        for key in [k for k, seen in self._seen.items() if now - seen.last_seen > QUIET_SECONDS]:
            del self._seen[key]


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines, library repeats thinned out."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(LibraryRepeats())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for logger in _loggers():
        _through_root(logger)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _loggers() -> Iterator[logging.Logger]:
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            yield logger


def _through_root(logger: logging.Logger) -> None:
    """Take the console away from a logger that writes there itself (FastStream's does, in its
    own format): its records reach the root's JSON handler instead. Files are left alone."""
    console = [
        h
        for h in logger.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    if console:
        logger.handlers[:] = [h for h in logger.handlers if h not in console]
        logger.propagate = True


def _log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    logging.getLogger("shared.runtime").critical(
        "the process stopped on an uncaught %s", kind.__name__, exc_info=(kind, error, traceback)
    )
