"""Timestamp columns store UTC and read back UTC-aware, on SQLite as on PostgreSQL."""

from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from shared.calendar import UK
from shared.db import UtcDateTime, create_db_engine

moments = Table(
    "moments",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime),
)


def test_a_uk_local_time_is_stored_as_its_utc_instant_and_read_back_aware(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'moments.db'}")
    moments.metadata.create_all(engine)
    nine_bst = datetime(2026, 6, 1, 9, 0, tzinfo=UK)  # 08:00 UTC
    with engine.begin() as connection:
        connection.execute(insert(moments).values(id=1, at=nine_bst))
        stored = connection.execute(select(moments.c.at)).scalar_one()
        due_by_half_past_eight = connection.execute(
            select(moments.c.id).where(moments.c.at <= datetime(2026, 6, 1, 8, 30, tzinfo=UTC))
        ).all()
    assert stored == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert stored.tzinfo is UTC
    assert due_by_half_past_eight == [(1,)]
    engine.dispose()


def test_a_naive_time_is_taken_as_utc(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'moments.db'}")
    moments.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(moments).values(id=1, at=datetime(2026, 1, 5, 10, 0)))
        stored = connection.execute(select(moments.c.at)).scalar_one()
    assert stored == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    engine.dispose()
