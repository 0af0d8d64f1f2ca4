"""A batch against its events applied one by one: the harness of every service's test that
reading a batch ahead and applying it in one transaction changes nothing but the cost."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from shared.db import create_db_engine
from shared.events import CloudEvent
from shared.inbox import EventHandler, process_batch, process_once
from shared.migrations import upgrade


def migrated(service: str, url: str) -> Engine:
    """An engine on `url`, migrated to `service`'s latest schema."""
    upgrade(service, url)
    return create_db_engine(url)


def one_by_one_engine(service: str, tmp_path: Path) -> Engine:
    """The reference database: SQLite, every event applied in a transaction of its own."""
    return migrated(service, f"sqlite:///{tmp_path / 'one_by_one.db'}")


def apply_both_ways(
    consumer: str,
    handlers: Mapping[type, EventHandler],
    before: Sequence[CloudEvent[Any]],
    batch: Sequence[CloudEvent[Any]],
    one_by_one: Engine,
    batched: Engine,
) -> list[bool]:
    """`before` then `batch` applied one event at a time to `one_by_one`; `before` likewise
    to `batched` (rows the batch must read ahead, not take for absent), then `batch` there
    in one transaction. Returns what `process_batch` said of each event of the batch."""
    for event in [*before, *batch]:
        process_once(one_by_one, consumer, event, handlers[type(event.data)])
    for event in before:
        process_once(batched, consumer, event, handlers[type(event.data)])
    handled = [(event, handlers[type(event.data)]) for event in batch]
    return process_batch(batched, consumer, handled)
