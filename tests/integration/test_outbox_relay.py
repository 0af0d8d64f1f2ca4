"""The transactional outbox on PostgreSQL, relayed to Apache Kafka."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from sqlmodel import Session, col, select

from shared.db import transaction
from shared.kafka import BrokerPublisher, make_broker
from shared.migrations import upgrade
from shared.outbox import OutboxMessage
from shared.relay import OutboxRelay
from tests.conftest import USED
from tests.integration.kafka_tools import eventually, fresh_topic, read_all, topic_size

ROWS = 400


def queue_rows(engine, topic: str, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with transaction(engine) as session:
        for event_id in ids:
            session.add(
                OutboxMessage(
                    event_id=event_id,
                    topic=topic,
                    key=b"CASE-1",
                    value=f'{{"id":"{event_id}"}}'.encode(),
                )
            )
    return ids


async def _at_least(bootstrap: str, topic: str, count: int) -> bool:
    return await topic_size(bootstrap, topic) >= count


def marked_sent(engine) -> int:
    with Session(engine) as session:
        query = select(OutboxMessage).where(col(OutboxMessage.published_at).is_not(None))
        return len(session.exec(query).all())


async def test_outbox_loses_nothing_when_the_relay_is_killed_mid_batch(
    kafka_bootstrap, postgres_url, postgres_engine
):
    upgrade("audit", postgres_url)
    topic = await fresh_topic(kafka_bootstrap, "test.relay")
    event_ids = queue_rows(postgres_engine, topic, ROWS)

    relay_process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.relay_process",
            postgres_url,
            kafka_bootstrap,
            "0.01",
        ],
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    try:
        await eventually(
            lambda: _at_least(kafka_bootstrap, topic, 30),
            what="the relay to publish part of its first batch",
        )
    finally:
        relay_process.send_signal(signal.SIGKILL)
        relay_process.wait()

    on_kafka_at_kill = await topic_size(kafka_bootstrap, topic)
    marked_at_kill = marked_sent(postgres_engine)
    assert on_kafka_at_kill > marked_at_kill, "the kill should land between publish and mark"
    assert marked_at_kill < ROWS

    async with make_broker(kafka_bootstrap, client_id="relay-restarted") as broker:
        await OutboxRelay(postgres_engine, BrokerPublisher(broker)).drain()

    records = await read_all(kafka_bootstrap, topic, expected=ROWS)
    published_ids = {record.value.decode()[7:-2] for record in records}
    assert published_ids == set(event_ids)
    assert marked_sent(postgres_engine) == ROWS
    USED["outbox"] = (
        f"outbox kill test: {ROWS} rows, {on_kafka_at_kill} on Kafka and {marked_at_kill} "
        f"marked at the kill, {len(records)} delivered after restart "
        f"({len(records) - ROWS} harmless duplicates, 0 lost)"
    )


async def test_relay_replicas_on_postgresql_publish_each_row_once_and_in_commit_order(
    kafka_bootstrap, postgres_url, postgres_engine
):
    upgrade("audit", postgres_url)
    topic = await fresh_topic(kafka_bootstrap, "test.relay")
    event_ids = queue_rows(postgres_engine, topic, ROWS)
    async with (
        make_broker(kafka_bootstrap, client_id="relay-a") as broker_a,
        make_broker(kafka_bootstrap, client_id="relay-b") as broker_b,
    ):
        relays = [
            OutboxRelay(postgres_engine, BrokerPublisher(b), batch_size=20)
            for b in (broker_a, broker_b)
        ]
        for _ in range(ROWS):  # replicas race for every batch until the outbox is empty
            if not sum(await asyncio.gather(*(relay.publish_batch() for relay in relays))):
                break
    records = await read_all(kafka_bootstrap, topic, expected=ROWS)
    # One key, so one partition: its order is the order the rows were committed in.
    assert [record.value.decode()[7:-2] for record in records] == event_ids
    assert marked_sent(postgres_engine) == ROWS


async def test_relay_reports_backlog_until_published(
    kafka_bootstrap, postgres_url, postgres_engine
):
    upgrade("audit", postgres_url)
    topic = await fresh_topic(kafka_bootstrap, "test.relay")
    queue_rows(postgres_engine, topic, 5)
    async with make_broker(kafka_bootstrap, client_id="relay-backlog") as broker:
        relay = OutboxRelay(postgres_engine, BrokerPublisher(broker))
        assert relay.backlog() == 5
        assert await relay.drain() == 5
        assert relay.backlog() == 0
