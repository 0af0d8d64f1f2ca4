"""Workers woken by commits, not by polls; a wake while busy is never lost."""

import asyncio
import time

from sqlmodel import Session

from shared.db import transaction
from shared.wakeup import WAKEUPS, wake_after_commit
from shared.workers import Worker, seconds_to_wait


def test_how_long_a_worker_waits_after_each_kind_of_step():
    assert seconds_to_wait(True, 30) == 0
    assert seconds_to_wait(False, 30) == 30
    assert seconds_to_wait(4.5, 30) == 4.5  # the next timer is due sooner than the poll
    assert seconds_to_wait(90.0, 30) == 30  # the poll still comes first
    assert seconds_to_wait(-2.0, 30) == 0  # already due


def test_a_commit_wakes_its_channel_and_a_rollback_does_not(sqlite_engine):
    before = WAKEUPS.count("unit-a")
    with Session(sqlite_engine) as session:
        wake_after_commit(session, "unit-a")
        wake_after_commit(session, "unit-a")  # once per transaction
        assert WAKEUPS.count("unit-a") == before  # not before the commit
        session.commit()
    assert WAKEUPS.count("unit-a") == before + 1
    try:
        with transaction(sqlite_engine) as session:
            wake_after_commit(session, "unit-a")
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert WAKEUPS.count("unit-a") == before + 1


async def test_a_worker_runs_at_once_when_woken_and_not_before(sqlite_engine):
    steps: list[float] = []
    stop = asyncio.Event()
    worker = Worker("unit", 60, lambda: bool(steps.append(time.monotonic())), wake_on="unit-b")
    running = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.2)
    assert len(steps) == 1  # the first pass, then waiting: a 60 s poll does not come
    woken_at = time.monotonic()
    await asyncio.to_thread(_commit_waking, sqlite_engine, "unit-b")
    await asyncio.sleep(0.2)
    assert len(steps) == 2
    assert steps[1] - woken_at < 0.2
    stop.set()
    await asyncio.wait_for(running, 1)


async def test_a_wake_during_a_step_makes_the_worker_run_again(sqlite_engine):
    steps: list[int] = []

    def step() -> bool:
        steps.append(1)
        if len(steps) == 1:
            _commit_waking(sqlite_engine, "unit-c")  # work arrives while this step runs
        return False

    stop = asyncio.Event()
    running = asyncio.create_task(Worker("unit", 60, step, wake_on="unit-c").run(stop))
    await asyncio.sleep(0.3)
    assert len(steps) == 2
    stop.set()
    await asyncio.wait_for(running, 1)


def _commit_waking(engine, channel: str) -> None:
    with transaction(engine) as session:
        wake_after_commit(session, channel)
