"""What a transaction keeps for itself (shared.db): rows written as it commits, reads made once;
both forgotten when it ends, however it ends (SQLite)."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, update
from sqlmodel import Session

from shared.db import insert_at_commit, insert_waiting_now, last_at_commit, once_per_transaction

NOTES = Table("notes", MetaData(), Column("id", Integer, primary_key=True), Column("text", String))


@pytest.fixture
def engine(sqlite_engine):
    NOTES.metadata.create_all(sqlite_engine)
    return sqlite_engine


def notes(engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(NOTES.c.text).order_by(NOTES.c.id)).scalars())


def test_rows_go_in_as_the_transaction_commits_in_the_order_given(engine):
    with Session(engine) as session:
        for text in ("first", "second", "third"):
            insert_at_commit(session, NOTES, {"text": text})
        assert session.execute(select(func.count()).select_from(NOTES)).scalar_one() == 0
        session.commit()
    assert notes(engine) == ["first", "second", "third"]


def test_rows_waiting_for_the_commit_can_be_written_before_a_statement_that_must_see_them(
    engine,
):
    with Session(engine) as session:
        insert_at_commit(session, NOTES, {"text": "first"})
        insert_at_commit(session, NOTES, {"text": "second"})
        insert_waiting_now(session, NOTES)
        assert session.execute(select(func.count()).select_from(NOTES)).scalar_one() == 2
        insert_at_commit(session, NOTES, {"text": "third"})
        session.commit()
    assert notes(engine) == ["first", "second", "third"]  # each once, in order


def test_a_statement_run_last_runs_after_every_row_the_commit_writes_in_the_order_given(
    engine,
):
    marked = update(NOTES).values(text=NOTES.c.text + "!")
    with Session(engine) as session:
        last_at_commit(session, marked, [{}])  # asked for first, run after the rows below
        insert_at_commit(session, NOTES, {"text": "waited"})
        last_at_commit(session, update(NOTES).values(text=NOTES.c.text + "?"), [{}])
        assert notes(engine) == []  # nothing run yet
        session.commit()
    assert notes(engine) == ["waited!?"]


def test_rows_of_a_rolled_back_or_closed_transaction_never_go_in_later(engine):
    with Session(engine) as session:
        insert_at_commit(session, NOTES, {"text": "rolled back"})
        last_at_commit(session, NOTES.insert(), [{"text": "rolled back last"}])
        session.rollback()
        insert_at_commit(session, NOTES, {"text": "abandoned"})
        session.close()  # ends the transaction without a rollback event
        insert_at_commit(session, NOTES, {"text": "kept"})
        session.commit()
    assert notes(engine) == ["kept"]


def test_a_read_is_made_once_a_transaction_and_afresh_in_the_next(engine):
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    with Session(engine) as session:
        session.connection()  # a transaction begins
        assert [once_per_transaction(session, "n", load) for _ in range(3)] == [1, 1, 1]
        session.commit()
        assert once_per_transaction(session, "n", load) == 2


def test_inside_a_savepoint_both_are_refused(engine):
    with Session(engine) as session:
        session.begin_nested()
        with pytest.raises(RuntimeError, match="not per savepoint"):
            insert_at_commit(session, NOTES, {"text": "in a savepoint"})
        with pytest.raises(RuntimeError, match="not per savepoint"):
            once_per_transaction(session, "n", lambda: 1)
