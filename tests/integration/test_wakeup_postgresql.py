"""Replicas wake each other through PostgreSQL's LISTEN/NOTIFY, only on commit."""

import asyncio

from shared.db import transaction
from shared.wakeup import WAKEUPS, listen, wake_after_commit


async def eventually(check, timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


async def test_another_replicas_commit_wakes_this_ones_workers(postgres_engine):
    stop = asyncio.Event()
    listening = asyncio.create_task(listen(postgres_engine, ["pg-unit"], stop))
    # Every (re)connection wakes the channel once: notifications sent meanwhile are lost.
    assert await eventually(lambda: WAKEUPS.count("pg-unit") >= 1)
    connected = WAKEUPS.count("pg-unit")

    def another_replica_commits(rolls_back: bool) -> None:
        # Raw SQL on its own connection: only the database can carry this to the listener.
        with postgres_engine.connect() as connection, connection.begin() as work:
            connection.exec_driver_sql("SELECT pg_notify('qa_pg-unit', '')")
            if rolls_back:
                work.rollback()

    await asyncio.to_thread(another_replica_commits, True)
    await asyncio.sleep(0.5)
    assert WAKEUPS.count("pg-unit") == connected  # a rollback notifies nobody
    await asyncio.to_thread(another_replica_commits, False)
    assert await eventually(lambda: WAKEUPS.count("pg-unit") == connected + 1)
    stop.set()
    await asyncio.wait_for(listening, 5)


async def test_wake_after_commit_notifies_through_the_database(postgres_engine):
    def commit() -> None:
        with transaction(postgres_engine) as session:
            wake_after_commit(session, "pg-unit-2")

    stop = asyncio.Event()
    listening = asyncio.create_task(listen(postgres_engine, ["pg-unit-2"], stop))
    assert await eventually(lambda: WAKEUPS.count("pg-unit-2") >= 1)
    before = WAKEUPS.count("pg-unit-2")
    await asyncio.to_thread(commit)
    # Woken twice: at once in this process, and by the notification the listener receives.
    assert await eventually(lambda: WAKEUPS.count("pg-unit-2") == before + 2)
    stop.set()
    await asyncio.wait_for(listening, 5)
