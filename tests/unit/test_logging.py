import json
import logging
import sys
import warnings
from collections.abc import Iterator

import pytest
from faststream._internal.logger.formatter import ColourizedFormatter

from shared.logging import JsonFormatter, LibraryRepeats, configure_logging, correlated


def render(message, *args, **extra):
    record = logging.LogRecord("qa.test", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter("audit").format(record))


def test_log_lines_are_json_with_service_and_correlation_id():
    with correlated("corr-42"):
        line = render("audit stored", audit_id="AUD-1")
    assert line["service"] == "audit"
    assert line["correlation_id"] == "corr-42"
    assert line["audit_id"] == "AUD-1"
    assert line["message"] == "audit stored"
    assert "correlation_id" not in render("outside any event")


def test_email_addresses_never_reach_the_log():
    line = render(
        "could not deliver to %s",
        "jane.smith@council.example.gov.uk",
        recipient="j.smith@example.org",
    )
    text = json.dumps(line)
    assert "jane.smith" not in text
    assert "j.smith@example.org" not in text
    assert "[redacted-email]" in line["message"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def library_record(name: str, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, args, None)


def test_a_library_repeating_an_error_is_let_through_first_then_once_in_five_minutes():
    clock = FakeClock()
    repeats = LibraryRepeats(clock)
    passed = []
    for tick in range(601):  # aiokafka's rate with the broker away: 1 a second for 10 minutes
        clock.now = float(tick)
        record = library_record(
            "aiokafka", "Unable connect to node with id %s: %s", 1, "Connect call failed"
        )
        if repeats.filter(record):
            passed.append((clock.now, getattr(record, "repeats_held_back", None)))
    assert passed == [(0.0, None), (300.0, 299), (600.0, 299)]
    # Another kind of record, and our own records, are not held back by it.
    assert repeats.filter(library_record("aiokafka", "Unable to update metadata from %s", [1]))
    assert all(repeats.filter(library_record("shared.relay", "mine")) for _ in range(5))
    # After a quiet spell the same kind of record is news again.
    clock.now += 61
    assert repeats.filter(library_record("aiokafka", "Unable connect to node with id %s: %s"))


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes the process's logging: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level, hook = root.handlers[:], root.level, sys.excepthook
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook = hook
    logging.captureWarnings(False)


def test_every_line_is_json_even_from_libraries_that_bring_their_own_console_handler(
    restored_logging, capsys
):
    own = logging.getLogger("unit.library")
    own.addHandler(logging.StreamHandler(sys.stderr))
    own.propagate = False
    configure_logging("audit")
    logging.getLogger("faststream").warning("from faststream")
    own.warning("from a library with its own handler")
    warnings.warn("a library's warning", UserWarning, stacklevel=1)
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in lines][:2] == [
        "from faststream",
        "from a library with its own handler",
    ]
    assert all(json.loads(line)["service"] == "audit" for line in lines)
    assert len(lines) == 3
    library = logging.getLogger("faststream")
    assert library.propagate
    assert not [h for h in library.handlers if isinstance(h.formatter, ColourizedFormatter)]
