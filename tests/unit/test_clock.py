"""The movable clock of the end-to-end tests: every reader of one file moves together."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import OffsetClock, SystemClock, clock_for

pytestmark = pytest.mark.unit


def test_readers_of_one_offset_file_move_on_together(tmp_path):
    offset = tmp_path / "clock-offset"
    test_side, service_side = OffsetClock(offset), clock_for(offset)
    before = service_side.now()
    assert abs(before - datetime.now(UTC)) < timedelta(seconds=5)  # no file yet: not moved
    test_side.move_on(timedelta(days=3))
    test_side.move_on(timedelta(hours=2))
    moved = service_side.now() - datetime.now(UTC)
    assert timedelta(days=3, hours=2) - timedelta(seconds=5) < moved <= timedelta(days=3, hours=2)


def test_without_an_offset_file_a_process_runs_on_the_system_clock():
    assert isinstance(clock_for(None), SystemClock)
