"""Wake a worker the moment a transaction commits work for it, instead of polling for it.

The transaction that writes rows a worker acts on (an outbox message, a timer, a delivery) calls
`wake_after_commit(session, channel)`. When the session commits, every worker of this process
waiting on that channel wakes at once; on PostgreSQL the transaction also runs `pg_notify`, which
the database delivers only on commit, to the listener of every replica (`listen`). A rollback
wakes nobody. A worker's poll stays as a safety net for a notification lost while a listener
reconnects, so it can be long and an idle service does next to nothing.

A wake that comes while the worker is busy is not lost: each channel counts its wakes, and a
worker that saw the count move since it started its step runs again at once (`Wakeups.wait`).
"""

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from functools import partial

import psycopg
from sqlalchemy import Engine, text
from sqlmodel import Session

from shared.db import after_commit, is_postgresql

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "qa_"
RECONNECT_SECONDS = 2.0


class Wakeups:
    """The wake counts of this process's channels, and the workers waiting on them.

    Thread-safe: commits happen in worker threads (`asyncio.to_thread`), waits on event loops.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = defaultdict(int)
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = (
            defaultdict(set)
        )

    def count(self, channel: str) -> int:
        with self._lock:
            return self._counts[channel]

    def wake(self, channel: str) -> None:
        with self._lock:
            self._counts[channel] += 1
            waiters = list(self._waiters[channel])
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody to wake
                loop.call_soon_threadsafe(event.set)

    async def wait(
        self, channel: str, since: int, seconds: float, stop: asyncio.Event | None = None
    ) -> None:
        """Return when `channel` is woken after count `since`, `stop` is set, or after `seconds`."""
        woken = asyncio.Event()
        waiter = (asyncio.get_running_loop(), woken)
        with self._lock:
            if self._counts[channel] != since:
                return
            self._waiters[channel].add(waiter)
        waits = [asyncio.ensure_future(woken.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waits, timeout=max(seconds, 0), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in waits:
                pending.cancel()
            with self._lock:
                self._waiters[channel].discard(waiter)


WAKEUPS = Wakeups()
"""The process's channels: one process runs one service, whose workers and writers share them."""


def wake_after_commit(session: Session, channel: str) -> None:
    """Wake `channel`'s workers, here and in other replicas, once `session` commits."""
    if after_commit(session, partial(WAKEUPS.wake, channel), key=("wake", channel)) and (
        is_postgresql(session.get_bind())
    ):
        # Once per transaction: the database delivers it on commit, drops it on rollback.
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": _pg(channel)})


def _pg(channel: str) -> str:
    return f"{CHANNEL_PREFIX}{channel}"


async def listen(engine: Engine, channels: Iterable[str], stop: asyncio.Event) -> None:
    """Relay PostgreSQL notifications on `channels` to this process's workers until `stop`.

    Other replicas' commits arrive here. The connection is re-made after a failure; every
    (re)connection wakes the channels once, since notifications sent meanwhile are lost.
    """
    if not is_postgresql(engine):
        return  # SQLite: one process, woken in-process
    wanted = sorted(set(channels))
    if not wanted:
        return
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    lost = False
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
                for channel in wanted:
                    await connection.execute(f'LISTEN "{_pg(channel)}"')
                if lost:
                    log.info("listening for database notifications again")
                    lost = False
                for channel in wanted:
                    WAKEUPS.wake(channel)
                await _relay_notifications(connection, stop)
        except (psycopg.Error, OSError) as exc:
            if not lost:
                log.warning(
                    "database notifications lost; workers fall back to their polls",
                    extra={"error": type(exc).__name__},
                )
                lost = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECONNECT_SECONDS)


async def _relay_notifications(connection: psycopg.AsyncConnection, stop: asyncio.Event) -> None:
    while not stop.is_set():
        # A bounded wait, so `stop` is seen within a second.
        async for notice in connection.notifies(timeout=1.0):
            if notice.channel.startswith(CHANNEL_PREFIX):
                WAKEUPS.wake(notice.channel.removeprefix(CHANNEL_PREFIX))
