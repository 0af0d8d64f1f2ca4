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


def test_production_refuses_the_movable_clock(tmp_path, monkeypatch):
    from services.scheduler.settings import SchedulerSettings
    from shared.settings import SettingsError, load_settings

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("CLOCK_OFFSET_FILE", str(tmp_path / "offset"))
    monkeypatch.setenv("QA_ENVIRONMENT", "development")
    assert isinstance(load_settings(SchedulerSettings).clock, OffsetClock)
    monkeypatch.setenv("QA_ENVIRONMENT", "production")
    monkeypatch.setenv("AUTH_JWKS_URL", "https://idp.example/jwks")
    monkeypatch.delenv("AUTH_JWKS_FILE")
    with pytest.raises(SettingsError, match="CLOCK_OFFSET_FILE moves the clock for tests"):
        load_settings(SchedulerSettings)
