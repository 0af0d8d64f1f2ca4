"""Advisory locks (shared.db `lock_for`, `lock_all`) on PostgreSQL: a batch's locks in one
statement, each held until the transaction ends, none asked for twice in one transaction."""

from sqlalchemy import event, text
from sqlmodel import Session

from shared.db import lock_all, lock_for


def free(engine, key: str) -> bool:
    """Whether another transaction could take `key`'s lock now."""
    with engine.connect() as other:
        query = text("SELECT pg_try_advisory_xact_lock(hashtext(:key))")
        return bool(other.execute(query, {"key": key}).scalar_one())


def lock_statements(engine) -> list[str]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_):
        if "pg_advisory_xact_lock" in statement:  # not free()'s pg_try_advisory_xact_lock
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen


def test_a_batchs_locks_are_taken_at_once_held_to_the_end_and_never_asked_for_twice(
    postgres_engine,
):
    statements = lock_statements(postgres_engine)
    with Session(postgres_engine) as session:
        lock_all(session, ["AUD-2", "AUD-1", "AUD-2"])
        lock_for(session, "AUD-1")  # held already: not asked for again
        lock_all(session, ["AUD-1", "AUD-2"])
        assert len(statements) == 1
        assert not free(postgres_engine, "AUD-1")
        assert not free(postgres_engine, "AUD-2")
        assert free(postgres_engine, "AUD-3")
        lock_for(session, "AUD-3")  # one not held yet is
        assert len(statements) == 2
        session.commit()
    assert free(postgres_engine, "AUD-1")
    statements.clear()
    with Session(postgres_engine) as session:
        lock_for(session, "AUD-1")  # a new transaction holds nothing yet
        assert len(statements) == 1
        assert not free(postgres_engine, "AUD-1")
        session.rollback()
    assert free(postgres_engine, "AUD-1")
