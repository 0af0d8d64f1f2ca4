"""What the services are measured against, in this process on the same broker and database:

- `raw_relay`: a plain aiokafka consumer -> producer relay (acks=all), one offset commit per
  fetched batch; the most a Kafka-to-Kafka hop can do here.
- `durable_relay`: the same hop done durably by hand, the yardstick of issue 19: per event, one
  PostgreSQL transaction inserts a processed-id row and an outbox row and commits; the Kafka
  offsets are committed (awaited) after each fetched batch's transactions; each outbox row is
  published (acks=all, all awaited before the clock stops). Marking outbox rows sent is left
  out, which flatters it slightly.

Both read with a manual assignment, so no group join (3 s of the broker's rebalance delay) is
timed; the clock runs from the first message fetched until the last is acked and committed.
`warm_up` runs both small first, unreported: a fresh broker elects its offsets topic's leaders
and compiles its hot paths on first use, which would otherwise be timed.
"""

import asyncio
import time
import uuid

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tooling.bench.events import audit_graded, case_reference, record
from tooling.bench.figures import Figure
from tooling.bench.kafka_io import create_topics, partitions_of, produce, producer
from tooling.bench.measures import per_second

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed (event_id text PRIMARY KEY, processed_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id bigserial PRIMARY KEY, topic text NOT NULL, key bytea, value bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz
);
"""


async def _fill(bootstrap: str, topic: str, count: int) -> None:
    run = uuid.uuid4().hex[:6]
    await create_topics(bootstrap, [topic, f"{topic}.out"])
    await produce(
        bootstrap,
        topic,
        (record(audit_graded(case_reference(run, n)), "audit") for n in range(count)),
    )


async def _reader(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"bench-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    tps = await partitions_of(bootstrap, [topic])
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    return consumer


async def raw_relay(bootstrap: str, count: int) -> Figure:
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    await _fill(bootstrap, topic, count)
    consumer, sender = await _reader(bootstrap, topic), producer(bootstrap)
    await sender.start()
    try:
        started, moved = await _first_fetch(consumer), 0
        while moved < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            futures = [
                await sender.send(f"{topic}.out", m.value, key=m.key)
                for messages in batches.values()
                for m in messages
            ]
            await asyncio.gather(*futures)
            await consumer.commit({tp: ms[-1].offset + 1 for tp, ms in batches.items() if ms})
            moved += len(futures)
        took = time.monotonic() - started
    finally:
        await consumer.stop()
        await sender.stop()
    return Figure("raw_relay", per_second(count, took), "events/s")


async def durable_relay(bootstrap: str, database_url: str, count: int) -> Figure:
    topic = f"bench.durable.{uuid.uuid4().hex[:6]}"
    await _fill(bootstrap, topic, count)
    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as db:
        await db.execute(SCHEMA)
        consumer, sender = await _reader(bootstrap, topic), producer(bootstrap)
        await sender.start()
        try:
            started = await _first_fetch(consumer)
            sent = await _relay_one_by_one(consumer, sender, db, f"{topic}.out", count)
            await asyncio.gather(*sent)
            took = time.monotonic() - started
        finally:
            await consumer.stop()
            await sender.stop()
    return Figure("durable_relay", per_second(count, took), "events/s")


async def warm_up(bootstrap: str, database_url: str) -> None:
    await raw_relay(bootstrap, 300)
    await durable_relay(bootstrap, database_url, 100)


async def _first_fetch(consumer: AIOKafkaConsumer) -> float:
    """Wait until a message is there to fetch (left for the relay's own fetch); returns when."""
    while not await consumer.getmany(timeout_ms=1000, max_records=1):
        pass
    await consumer.seek_to_beginning()
    for tp in consumer.assignment():  # resolved now: the reset is not timed
        await consumer.position(tp)
    return time.monotonic()


async def _relay_one_by_one(
    consumer: AIOKafkaConsumer,
    sender: AIOKafkaProducer,
    db: psycopg.AsyncConnection,
    out: str,
    count: int,
) -> list[asyncio.Future[object]]:
    sent: list[asyncio.Future[object]] = []
    while len(sent) < count:
        batches = await consumer.getmany(timeout_ms=1000, max_records=500)
        for tp, messages in batches.items():
            for message in messages:
                event_id = f"{tp.topic}:{tp.partition}:{message.offset}"
                async with db.transaction():
                    await db.execute(
                        "INSERT INTO processed (event_id, processed_at) VALUES (%s, now())",
                        (event_id,),
                    )
                    await db.execute(
                        "INSERT INTO outbox (topic, key, value) VALUES (%s, %s, %s)",
                        (out, message.key, message.value),
                    )
                sent.append(await sender.send(out, message.value, key=message.key))
        if batches:
            await consumer.commit(
                {
                    TopicPartition(tp.topic, tp.partition): m[-1].offset + 1
                    for tp, m in batches.items()
                }
            )
    return sent
