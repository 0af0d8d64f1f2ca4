"""Database engines and transactions, the same for PostgreSQL and SQLite.

SQLite is the zero-setup default for one machine; there every write transaction starts with
BEGIN IMMEDIATE, so concurrent writers queue instead of failing half-way (the single-writer
path). PostgreSQL is used in production and in the integration tests.
"""

import logging
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    Executable,
    Select,
    Table,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine, select

log = logging.getLogger(__name__)
T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; for SQLite the file's folder is created and writes serialised.

    Statement parameters are hidden from error messages: they hold case data, and errors end
    up in logs and dead-letter reasons.
    """
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )
    _serialise_sqlite_writes(engine)
    return engine


def _serialise_sqlite_writes(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _take_over_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgresql(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits when the block ends normally, rolls back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _in_utc(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC; an aware one is converted to UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp column that stores UTC and always gives back a UTC-aware datetime.

    SQLite keeps no zone and returns naive values; converting to UTC on the way in also keeps
    a UK-local value (a timer's 09:00 BST) from being stored as 09:00 UTC there.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        return None if value is None else _in_utc(value)

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        return None if value is None else _in_utc(value)


AFTER_COMMIT = "after_commit_actions"


def after_commit(session: Session, action: Callable[[], None], key: object = None) -> bool:
    """Run `action` once `session` commits, never if it rolls back: e.g. metrics of a change.

    With a `key`, an action of the same key already waiting for this commit stands for this
    one. Returns whether `action` was added."""
    actions: list[tuple[object, Callable[[], None]]] | None = session.info.get(AFTER_COMMIT)
    if actions is None:
        actions = session.info[AFTER_COMMIT] = []
        event.listen(session, "after_commit", _run_after_commit)
        event.listen(session, "after_rollback", lambda s: s.info[AFTER_COMMIT].clear())
    if key is not None and any(waiting == key for waiting, _ in actions):
        return False
    actions.append((key, action))
    return True


def _run_after_commit(session: Session) -> None:
    actions = session.info[AFTER_COMMIT]
    waiting, actions[:] = list(actions), []
    for _key, action in waiting:
        action()


MEMO = "read_once_per_transaction"
INSERTED_AT_COMMIT = "rows_inserted_at_commit"
RUN_LAST_AT_COMMIT = "statements_run_last_at_commit"


def _transaction_state(session: Session, key: str, empty: Callable[[], T]) -> T:
    """State kept in `session.info` for its transaction, forgotten when that transaction ends
    however it ends (commit, rollback, close). Not for use inside a savepoint: rolling one back
    would have to take back only what was added inside it."""
    if session.in_nested_transaction():
        raise RuntimeError(f"{key} is kept per transaction, not per savepoint")
    if not session.in_transaction():
        session.begin()  # what the first statement would begin: this state ends with it
    if key not in session.info:
        session.info[key] = empty()
        event.listen(session, "after_transaction_end", partial(_forget, key))
    return session.info[key]  # type: ignore[no-any-return]


def _forget(key: str, session: Session, ended: SessionTransaction) -> None:
    if ended.parent is None:  # the transaction itself, not a savepoint inside it
        session.info[key].clear()


def once_per_transaction(session: Session, key: str, load: Callable[[], T]) -> T:
    """`load()` the first time a transaction of `session` asks for `key`, then the same value
    until it ends: for what a batch's handlers each read and only they change (the caller keeps
    the value up to date with its own changes)."""
    memo: dict[str, Any] = _transaction_state(session, MEMO, dict)
    if key not in memo:
        memo[key] = load()
    return memo[key]  # type: ignore[no-any-return]


READ_AHEAD = "read_ahead"
MISSING = object()


class ReadFor(Protocol):
    """The event (shared.events CloudEvent) a row is read ahead for."""

    @property
    def source(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def subject(self) -> str: ...


class ReadAhead:
    """Rows read for a batch of events before any is handled, a statement per table for all of
    them (shared.inbox `reads_ahead`), each kept for the event it was read for. Only that event
    takes it, while it is being handled (`handling`), and once: read again, or by another
    event, it comes from the database, where the handler has flushed what it changed since.
    What is kept for a case's events is forgotten once an earlier event of that case has been
    handled, and all of it after a handler that may change other cases' rows: either may have
    changed what was read."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], dict[Hashable, object]] = {}
        self._by_subject: dict[str, list[tuple[str, str]]] = {}
        self._now: dict[Hashable, object] = {}

    def keep(self, event: ReadFor, key: Hashable, value: object) -> None:
        known = (event.source, event.id)
        if known not in self._kept:
            self._kept[known] = {}
            self._by_subject.setdefault(event.subject, []).append(known)
        self._kept[known][key] = value

    def handling(self, event: ReadFor) -> None:
        """`event` is handled now: what was kept for it is what `take` gives, until the next."""
        self._now = self._kept.pop((event.source, event.id), {})

    def take(self, key: Hashable, read: Callable[[], T]) -> T:
        """What was kept for `key` for the event being handled, else `read()`."""
        kept = self._now.pop(key, MISSING)
        return read() if kept is MISSING else kept  # type: ignore[return-value]

    def forget(self, subject: str) -> None:
        """What is kept for the events of `subject` (the case) not handled yet."""
        for known in self._by_subject.pop(subject, ()):
            self._kept.pop(known, None)

    def clear(self) -> None:
        self._kept.clear()
        self._by_subject.clear()
        self._now = {}


def read_ahead(session: Session) -> ReadAhead:
    """What the transaction of `session` read ahead for its batch of events (`ReadAhead`)."""
    return _transaction_state(session, READ_AHEAD, ReadAhead)


M = TypeVar("M", bound=SQLModel)


def read_rows_ahead(
    session: Session, model: type[M], column: str, wanted: Iterable[tuple[ReadFor, Hashable]]
) -> None:
    """For each (event, key) of `wanted`, the `model` row whose unique `column` holds the key
    (None: there is none), read in one query for all and kept for the event, which takes it
    with `row_read_ahead`."""
    wanted = list(wanted)
    if not wanted:
        return
    ahead = read_ahead(session)
    query = select(model).where(getattr(model, column).in_({key for _, key in wanted}))
    found = {getattr(row, column): row for row in session.exec(query)}
    for reader, key in wanted:
        ahead.keep(reader, (model, column, key), found.get(key))


def row_read_ahead(session: Session, model: type[M], column: str, key: Hashable) -> M | None:
    """The `model` row whose unique `column` holds `key`, as read ahead for this event's batch
    (`read_rows_ahead`) if it was, else read now."""

    def read() -> M | None:  # built only when needed: a query costs more than the take
        return session.exec(select(model).where(getattr(model, column) == key)).first()

    return read_ahead(session).take((model, column, key), read)


def insert_at_commit(session: Session, table: Table, row: dict[str, Any]) -> None:
    """Write `row` into `table` as `session` commits, with the transaction's other such rows in
    one executemany per table, after everything else it flushes; never if it rolls back.

    For rows nothing reads back before the commit (processed-event records, outbox messages):
    added to the session, each would cost a round trip of its own, as the session flushes
    before every query the next event's handler makes. A failure in them is found at the
    commit, so a batch then goes on one event at a time (shared.consumer).
    """
    pending: dict[Table, list[dict[str, Any]]] = _at_commit(session, INSERTED_AT_COMMIT, dict)
    pending.setdefault(table, []).append(row)


def last_at_commit(session: Session, statement: Executable, rows: list[dict[str, Any]]) -> None:
    """Run `statement` for `rows` (an executemany) as `session` commits, after everything else
    it writes (the ORM's flush, `insert_at_commit`'s rows), in the order these were given.

    For rows that many transactions change (a running count): the row lock a statement takes is
    held until the COMMIT. Run early, it would be held across every later round trip of the
    transaction, and every transaction changing the same row would wait for all of them (at 30
    POST /audits a second, answers took 0.55-0.65 s at the median that way, 0.17-0.18 s so).
    """
    waiting: list[tuple[Executable, list[dict[str, Any]]]] = _at_commit(
        session, RUN_LAST_AT_COMMIT, list
    )
    waiting.append((statement, rows))


def _at_commit(session: Session, key: str, empty: Callable[[], T]) -> T:
    """What `session` writes as it commits, kept per transaction (one listener writes all)."""
    if INSERTED_AT_COMMIT not in session.info and RUN_LAST_AT_COMMIT not in session.info:
        event.listen(session, "before_commit", _write_at_commit)
    return _transaction_state(session, key, empty)


def insert_waiting_now(session: Session, table: Table) -> None:
    """Write now the rows of `table` waiting for the commit (`insert_at_commit`), in one
    statement: before a statement about that table that must see them."""
    pending: dict[Table, list[dict[str, Any]]] | None = session.info.get(INSERTED_AT_COMMIT)
    rows = pending.pop(table, None) if pending else None
    if rows:
        session.flush()  # what they follow, as at the commit
        session.execute(table.insert(), rows)


def _write_at_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's commit: the rows wait for the transaction's
    pending: dict[Table, list[dict[str, Any]]] = session.info.get(INSERTED_AT_COMMIT, {})
    last: list[tuple[Executable, list[dict[str, Any]]]] = session.info.get(RUN_LAST_AT_COMMIT, [])
    inserts, statements = dict(pending), list(last)
    pending.clear()
    last.clear()
    session.flush()  # the rows the ORM holds first: those may be what these rows follow
    for table, rows in inserts.items():
        session.execute(table.insert(), rows)
    for statement, rows in statements:
        session.execute(statement, rows)


def timestamp_field(**options: Any) -> Any:
    """A SQLModel field stored as a UTC timestamp that reads back UTC-aware on every database."""
    return Field(sa_type=UtcDateTime, **options)


def try_lock_for(session: Session, key: str) -> bool:
    """`lock_for` without waiting: False when another transaction holds the lock now."""
    if not is_postgresql(session.get_bind()):
        return True
    taken = session.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"), {"key": key})
    return bool(taken.scalar_one())


def is_infrastructure_failure(error: BaseException) -> bool:
    """Failures that say nothing about the request or event: the database or network is away
    (or the database broke a deadlock: running it again later will do)."""
    if isinstance(error, OperationalError | ConnectionError | TimeoutError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


RETRIED_SQLSTATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure: the transaction lost a race and
was rolled back whole; run again it sees the winner's commit."""
RETRIES = 3


def lost_a_race(error: BaseException) -> bool:
    """Whether `error` is the database rolling a transaction back to break a deadlock or a
    serialization conflict (then running it again is safe and will do)."""
    return (
        isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in RETRIED_SQLSTATES
    )


def retried(work: Callable[[], T], attempts: int = RETRIES) -> T:
    """Run `work`, one whole transaction, again when it loses a race (`lost_a_race`), up to
    `attempts` times in all, so that a person never sees a deadlock: only a lasting failure
    reaches the caller."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not lost_a_race(exc) or attempt == attempts:
                raise
            log.info("transaction lost a race; running it again", extra={"attempt": attempt})
            time.sleep(0.01 * attempt)  # let the winner commit first
    raise AssertionError("unreachable: the last attempt returns or raises")


Q = TypeVar("Q", bound=Select[Any])


def where_equal(query: Q, wanted: Iterable[tuple[Any, object]]) -> Q:
    """`query` narrowed to rows whose column equals the value, for each (column, value) pair
    whose value is given: a list route's optional filters, written once."""
    for column, value in wanted:
        if value is not None:
            query = query.where(column == value)
    return query


def lock_for(session: Session, key: str) -> None:
    """Serialise transactions about one thing (e.g. one audit) across replicas until commit.

    A transaction-level advisory lock on PostgreSQL; on SQLite every write transaction already
    holds the single write lock, so there is nothing more to take.
    """
    lock_all(session, [key])


LOCKS_HELD = "advisory_locks_held"


def lock_all(session: Session, keys: Iterable[str]) -> None:
    """`lock_for` each of `keys`, in one statement: what a batch's events lock before they are
    handled. Taken in the order of the keys, so that two transactions that take theirs so do
    not each wait for the other (one that locks more later may: PostgreSQL then breaks the
    deadlock, and the consumer applies the batch's events one at a time); a lock the
    transaction holds already is not asked for again."""
    if not is_postgresql(session.get_bind()):
        return
    held: set[str] = _transaction_state(session, LOCKS_HELD, set)
    wanted = sorted(set(keys) - held)
    if not wanted:
        return
    # unnest gives the keys in the array's order, and each row's lock is taken as it comes
    locks = "SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(CAST(:keys AS text[])) AS k"
    session.execute(text(locks), {"keys": wanted})
    held.update(wanted)
