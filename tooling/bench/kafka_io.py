"""The bench's Kafka plumbing: produce a burst, read end and committed offsets, move a consumer
group to the end of its topics (so a run starts with nothing left over from the one before)."""

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

Offsets = dict[TopicPartition, int]
Record = tuple[bytes, bytes]
"""A message's key and value."""


def producer(bootstrap: str, idempotent: bool = True) -> AIOKafkaProducer:
    """A producer that waits for every in-sync replica, as the services' own does."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=idempotent, linger_ms=5
    )


async def produce(bootstrap: str, topic: str, records: Iterable[Record]) -> tuple[Offsets, float]:
    """Send every record without waiting for each, then wait for all acks; returns the end
    offsets of the partitions written and when (monotonic) the first was sent."""
    sender = producer(bootstrap)
    await sender.start()
    try:
        started = time.monotonic()
        futures = [await sender.send(topic, value, key=key) for key, value in records]
        ends: Offsets = {}
        for done in await asyncio.gather(*futures):
            tp = TopicPartition(done.topic, done.partition)
            ends[tp] = max(ends.get(tp, 0), done.offset + 1)
        return ends, started
    finally:
        await sender.stop()


async def create_topics(bootstrap: str, topics: list[str], partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if wanted:
            await admin.create_topics(wanted)
        for _ in range(100):  # until every partition has a leader: sends before that are retried
            described = await admin.describe_topics(topics)
            leaders = [p["leader"] for topic in described for p in topic["partitions"]]
            if len(described) == len(topics) and leaders and min(leaders) >= 0:
                break
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def partitions_of(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]


async def move_group_to_end(bootstrap: str, group: str, topics: Iterable[str]) -> None:
    """Commit `group`'s offsets at the end of `topics`: what was there before is not its work.
    Only while none of the group's members runs."""
    tps = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        consumer.assign(tps)  # commit needs an assignment; a manual one joins no group
        ends = await consumer.end_offsets(tps)
        if ends:
            await consumer.commit(ends)
    finally:
        await consumer.stop()


async def committed(admin: AIOKafkaAdminClient, group: str) -> Offsets:
    answer = await admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in answer.items() if meta.offset >= 0}


def left(ends: Offsets, done: Offsets) -> int:
    """Messages up to `ends` not yet committed in `done`."""
    return sum(max(end - done.get(tp, 0), 0) for tp, end in ends.items())


async def wait_until_consumed(
    bootstrap: str, group: str, ends: Offsets, deadline_seconds: float
) -> tuple[float, int]:
    """Poll the group's committed offsets until they reach `ends`; returns when (monotonic) and
    how many were still left (0 unless the deadline passed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        give_up = time.monotonic() + deadline_seconds
        while True:
            remaining = left(ends, await committed(admin, group))
            now = time.monotonic()
            if remaining == 0 or now > give_up:
                return now, remaining
            await asyncio.sleep(0.02)
    finally:
        await admin.close()


async def wait_until_stable(bootstrap: str, group: str, timeout_seconds: float = 60) -> bool:
    """Wait until `group` has members and no rebalance under way, twice in a row a second apart
    (a service may join with one subscriber after another)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        give_up, seen = time.monotonic() + timeout_seconds, 0
        while time.monotonic() < give_up:
            seen = seen + 1 if await _stable(admin, group) else 0
            if seen >= 2:
                return True
            await asyncio.sleep(0.5)
        return False
    finally:
        await admin.close()


async def _stable(admin: AIOKafkaAdminClient, group: str) -> bool:
    for response in await admin.describe_consumer_groups([group]):
        for described in response.to_object()["groups"]:
            state = described.get("group_state", described.get("state"))
            if state == "Stable" and described.get("members"):
                return True
    return False
